/**
 * The widgets' interface in English and Korean. A widget's `language`
 * traitlet is "en", "ko" or "auto" (JupyterLab's language: Korean when
 * JupyterLab runs in Korean). Texts that come from Python (the catalogue's
 * docs and help) carry their own Korean forms; this module holds the page's
 * own words.
 */
import { useSyncExternalStore } from 'react';

import type { AnyModel } from './anywidget';
import { useModelValue } from './model';

export type Lang = 'en' | 'ko';
export type LanguageSetting = Lang | 'auto';

/** JupyterLab's language, from the page (`<html lang="ko-KR">` when Korean is chosen). */
export function pageLanguage(): Lang {
  const lang = (globalThis.document?.documentElement?.lang ?? '').toLowerCase();
  return lang.startsWith('ko') ? 'ko' : 'en';
}

/** The language to show for a setting. */
export function resolveLanguage(setting: LanguageSetting | undefined | null): Lang {
  return setting === 'en' || setting === 'ko' ? setting : pageLanguage();
}

/**
 * Calls `onChange` when JupyterLab's language changes (JupyterLab sets `<html lang>` once its translations
 * have loaded, which can be after a widget was drawn); returns the unsubscribe function.
 */
export function subscribePageLanguage(onChange: () => void): () => void {
  const root = globalThis.document?.documentElement;
  if (!root || typeof MutationObserver === 'undefined') {
    return () => undefined;
  }
  const observer = new MutationObserver(onChange);
  observer.observe(root, { attributes: true, attributeFilter: ['lang'] });
  return () => observer.disconnect();
}

/** The language a widget shows (its `language` traitlet, resolved; "auto" follows JupyterLab live). */
export function useLanguage(model: AnyModel<{ language: LanguageSetting }>): Lang {
  const setting = useModelValue(model, 'language');
  const page = useSyncExternalStore(subscribePageLanguage, pageLanguage, pageLanguage);
  return setting === 'en' || setting === 'ko' ? setting : page;
}

const EN = {
  // canvas
  blocks: 'Blocks',
  catalogueMissing: 'Block catalogue unavailable.',
  inspector: 'Inspector',
  selectBlock: 'Select a block to edit its settings.',
  noSchema: 'No schema for “{type}” (block catalogue unavailable).',
  params: 'params',
  layers: '{n} layers',
  buildable: '✓ buildable',
  problems: '⚠ {n} problems',
  problem: '⚠ 1 problem',
  problemCount: '{n} problems',
  problemCountOne: '1 problem',
  flopsPerToken: 'FLOPs/token',
  templates: 'Templates…',
  templatesTitle: 'Replace the design with a template (undo with Ctrl/Cmd+Z)',
  undo: 'Undo (Ctrl/Cmd+Z)',
  redo: 'Redo (Ctrl/Cmd+Shift+Z or Ctrl+Y)',
  layout: 'Layout',
  layoutTitle: 'Arrange the blocks top to bottom',
  fit: 'Fit',
  fitTitle: 'Fit the graph in view',
  exportCode: 'Export code ↓',
  exportTitle: 'Put PyTorch code that builds this model (sd.to_code) in a new cell below',
  noFile: 'no file',
  fileTitle: 'Every change is saved to this design file',
  noFileTitle: 'The design lives in the notebook only; Save as… keeps it in a file too',
  save: 'Save',
  saveTitle: 'Save the design to its file',
  saveAs: 'Save as…',
  saveAsTitle: 'Save the design to a new file and keep saving there',
  open: 'Open…',
  openTitle: 'Open a design file and keep saving there',
  fileName: 'File name',
  cancel: 'Cancel',
  replace: 'Replace',
  savedTo: 'Saved to {file}',
  opened: 'Opened {file}',
  noDesigns: 'No design files (.json) in this folder yet.',
  chooseDesign: 'Design file',
  kernelBusy: 'The kernel did not answer (is it busy or stopped?); try again.',
  noKernelCommands: 'This Jupyter front end cannot ask the kernel; use canvas.save_as(...) in a cell.',
  lockedBlock: 'Locked: part of the exercise, it cannot be deleted or changed',
  lockedNote: 'This block is locked by the exercise: it can be moved, not changed or deleted.',
  lockedRefused: 'Locked blocks cannot be deleted or changed: {ids}',
  resize: 'Drag to resize the canvas',
  fromTokenizer: 'from tokenizer ({n})',
  isTokenizerVocab: "= the tokenizer's vocabulary ({n})",
  copied: 'Copied {n} blocks',
  copiedOne: 'Copied 1 block',
  notConnected: 'Not connected: {why}',
  docs: 'Docs',
  formula: 'Formula',
  shapes: 'Shapes',
  hoverBlock: 'Hover a block or select a node.',
  memory_weights: 'weights',
  memory_gradients: 'gradients',
  memory_optimizer: 'optimizer',
  // playground
  playground: 'Playground',
  typePrompt: 'Type a prompt…',
  generate: 'Generate',
  stop: 'Stop',
  generateHint: 'Ctrl/Shift+Enter to generate',
  nextToken: 'Next token',
  nextTokenHint: 'Type a prompt to see what the model expects next.',
  attention: 'Attention',
  attentionHint: 'Attention maps of the prompt appear here.',
  layer: 'Layer',
  head: 'Head',
  rowsAttend: 'rows attend to columns',
  lastTokens: 'last {n} tokens of the prompt',
  repeatTitle: 'repeat',
  sharedWeights: 'shared weights',
  none: '(none)',
  auto: 'auto',
  mustBeOneOf: 'must be one of {options}',
  valueRequired: 'a value is required',
  mustBeNumber: 'must be a number',
  mustBeWhole: 'must be a whole number',
  atLeast: 'must be at least {n}',
  above: 'must be above {n}',
  atMost: 'must be at most {n}',
  below: 'must be below {n}',
  // monitor
  monitorStop: 'Stop',
  monitorStopping: 'Stopping…',
  monitorStopTitle: 'Stop after this step (a checkpoint is saved)',
  monitorNotRunning: 'The run is not running',
  logY: 'log y',
  linearY: 'linear y',
  eta: 'ETA {t}',
  precisionAuto: '{dtype} (auto)',
  mfu: 'MFU {p}',
  mfuHelp:
    'Model FLOPs utilisation: the training FLOPs the model does per second (FLOPs per token × tokens/s) as a share of this machine’s measured matmul peak in {dtype} ({peak} GFLOP/s). Real training reaches 30–60% on a GPU; small models on a CPU much less.',
  tokPerS: '{n} tok/s',
  lossChart: 'loss',
  lrChart: 'learning rate',
  sampleAt: 'sample at step {n}',
  mlflowTitle: 'MLflow run id (sd.load_run(id) loads it)',
  state_queued: 'queued',
  state_running: 'running',
  state_finished: 'finished',
  state_stopped: 'stopped',
  state_killed: 'killed',
  state_failed: 'failed',
  state_lost: 'lost',
  finishedAt: 'finished at step {n}',
  stoppedAt: 'stopped at step {n}',
  killedAt: 'killed at step {n}',
  failedAt: 'failed at step {n}',
  stoppingAfter: 'stopping after step {n}…',
  // runs browser
  runs: 'Runs',
  runsCount: '{n} runs · {k} selected',
  runsCountOne: '1 run · {k} selected',
  trackingStore: 'MLflow tracking store',
  refresh: 'Refresh',
  loading: 'Loading…',
  colRun: 'run',
  colDesign: 'design',
  colStatus: 'status',
  colStarted: 'started',
  colSteps: 'steps',
  colTrainLoss: 'train loss',
  colValLoss: 'val loss',
  colParams: 'params',
  colTokS: 'tok/s',
  colWorker: 'worker',
  inKernel: 'this kernel',
  noRuns: 'No runs yet: train with sd.train(...), then Refresh.',
  compareRun: 'compare {name}',
  resumeFrom: 'sd.resume continues from {where}',
  segments: 'resumed {n}×',
  segmentsTitle: 'one run in {n} parts: {parts}',
  selectedLoss: 'loss of the selected runs',
  noLoss: 'no loss logged for the selected runs',
  designDiff: 'Design differences',
  designSame: 'The designs are the same (same blocks and settings).',
  colBlock: 'block',
  colSetting: 'setting',
  parameters: 'Parameters',
  differCount: '({n} differ)',
  onlyDifferences: 'differences only',
  colParameter: 'parameter',
  designGroup: 'design'
};

export type TextKey = keyof typeof EN;

const KO: Record<TextKey, string> = {
  blocks: '블록',
  catalogueMissing: '블록 카탈로그를 불러오지 못했습니다.',
  inspector: '속성',
  selectBlock: '설정을 바꿀 블록을 선택하세요.',
  noSchema: '“{type}”의 스키마가 없습니다(블록 카탈로그를 불러오지 못했습니다).',
  params: '매개변수',
  layers: '{n}개 층',
  buildable: '✓ 만들 수 있음',
  problems: '⚠ 문제 {n}개',
  problem: '⚠ 문제 1개',
  problemCount: '문제 {n}개',
  problemCountOne: '문제 1개',
  flopsPerToken: 'FLOPs/토큰',
  templates: '템플릿…',
  templatesTitle: '설계를 템플릿으로 바꿉니다(Ctrl/Cmd+Z로 되돌리기)',
  undo: '되돌리기 (Ctrl/Cmd+Z)',
  redo: '다시 하기 (Ctrl/Cmd+Shift+Z 또는 Ctrl+Y)',
  layout: '정렬',
  layoutTitle: '블록을 위에서 아래로 정렬합니다',
  fit: '맞추기',
  fitTitle: '그래프 전체가 보이게 합니다',
  exportCode: '코드 내보내기 ↓',
  exportTitle: '이 모델을 만드는 PyTorch 코드(sd.to_code)를 아래 새 셀에 넣습니다',
  noFile: '파일 없음',
  fileTitle: '바뀐 내용은 모두 이 설계 파일에 저장됩니다',
  noFileTitle: '설계가 노트북에만 있습니다. 다른 이름으로 저장…하면 파일에도 남습니다',
  save: '저장',
  saveTitle: '설계를 파일에 저장합니다',
  saveAs: '다른 이름으로…',
  saveAsTitle: '설계를 새 파일에 저장하고 앞으로도 그 파일에 저장합니다',
  open: '열기…',
  openTitle: '설계 파일을 열고 앞으로 그 파일에 저장합니다',
  fileName: '파일 이름',
  cancel: '취소',
  replace: '바꾸기',
  savedTo: '{file}에 저장했습니다',
  opened: '{file}을(를) 열었습니다',
  noDesigns: '이 폴더에는 아직 설계 파일(.json)이 없습니다.',
  chooseDesign: '설계 파일',
  kernelBusy: '커널이 응답하지 않습니다(바쁘거나 멈췄나요?). 다시 해 보세요.',
  noKernelCommands: '이 Jupyter 화면에서는 커널에 요청할 수 없습니다. 셀에서 canvas.save_as(...)를 쓰세요.',
  lockedBlock: '잠김: 과제의 일부라 지우거나 바꿀 수 없습니다',
  lockedNote: '과제에서 잠근 블록입니다. 옮길 수는 있지만 바꾸거나 지울 수는 없습니다.',
  lockedRefused: '잠긴 블록은 지우거나 바꿀 수 없습니다: {ids}',
  resize: '끌어서 캔버스 크기를 바꿉니다',
  fromTokenizer: '토크나이저에서 ({n})',
  isTokenizerVocab: '= 토크나이저의 어휘 크기 ({n})',
  copied: '블록 {n}개를 복사했습니다',
  copiedOne: '블록 1개를 복사했습니다',
  notConnected: '연결하지 않았습니다: {why}',
  docs: '설명',
  formula: '수식',
  shapes: '텐서 모양',
  hoverBlock: '블록에 마우스를 올리거나 노드를 선택하세요.',
  memory_weights: '가중치',
  memory_gradients: '기울기',
  memory_optimizer: '옵티마이저',
  playground: '플레이그라운드',
  typePrompt: '프롬프트를 입력하세요…',
  generate: '생성',
  stop: '멈춤',
  generateHint: 'Ctrl/Shift+Enter로 생성',
  nextToken: '다음 토큰',
  nextTokenHint: '프롬프트를 입력하면 모델이 다음에 올 토큰으로 무엇을 예상하는지 보입니다.',
  attention: '어텐션',
  attentionHint: '프롬프트의 어텐션 지도가 여기에 나타납니다.',
  layer: '층',
  head: '헤드',
  rowsAttend: '행이 열을 바라봅니다',
  lastTokens: '프롬프트의 마지막 {n}개 토큰',
  repeatTitle: '반복',
  sharedWeights: '가중치 공유',
  none: '(없음)',
  auto: '자동',
  mustBeOneOf: '{options} 중 하나여야 합니다',
  valueRequired: '값을 입력하세요',
  mustBeNumber: '숫자여야 합니다',
  mustBeWhole: '정수여야 합니다',
  atLeast: '{n} 이상이어야 합니다',
  above: '{n}보다 커야 합니다',
  atMost: '{n} 이하여야 합니다',
  below: '{n}보다 작아야 합니다',
  monitorStop: '멈춤',
  monitorStopping: '멈추는 중…',
  monitorStopTitle: '이번 단계가 끝나면 멈춥니다(체크포인트를 저장합니다)',
  monitorNotRunning: '실행 중인 학습이 아닙니다',
  logY: '로그 y축',
  linearY: '선형 y축',
  eta: '남은 시간 {t}',
  precisionAuto: '{dtype} (자동)',
  mfu: 'MFU(활용률) {p}',
  mfuHelp:
    '모델 FLOPs 활용률: 모델이 1초에 하는 학습 연산량(토큰당 FLOPs × 초당 토큰 수)이 이 컴퓨터에서 측정한 {dtype} 행렬 곱셈 최고 속도({peak} GFLOP/s)의 몇 %인지입니다. GPU에서 실제 학습은 30–60%에 이르고, CPU의 작은 모델은 훨씬 낮습니다.',
  tokPerS: '초당 {n} 토큰',
  lossChart: '손실',
  lrChart: '학습률',
  sampleAt: '{n}단계의 샘플',
  mlflowTitle: 'MLflow 실행 id(sd.load_run(id)로 불러옵니다)',
  state_queued: '대기 중',
  state_running: '학습 중',
  state_finished: '완료',
  state_stopped: '멈춤',
  state_killed: '강제 종료',
  state_failed: '실패',
  state_lost: '연결 끊김',
  finishedAt: '{n}단계에서 완료',
  stoppedAt: '{n}단계에서 멈춤',
  killedAt: '{n}단계에서 강제 종료',
  failedAt: '{n}단계에서 실패',
  stoppingAfter: '{n}단계가 끝나면 멈춥니다…',
  runs: '학습 기록',
  runsCount: '학습 {n}개 · {k}개 선택',
  runsCountOne: '학습 1개 · {k}개 선택',
  trackingStore: 'MLflow 추적 저장소',
  refresh: '새로 고침',
  loading: '불러오는 중…',
  colRun: '학습',
  colDesign: '설계',
  colStatus: '상태',
  colStarted: '시작',
  colSteps: '단계',
  colTrainLoss: '학습 손실',
  colValLoss: '검증 손실',
  colParams: '매개변수',
  colTokS: '토큰/초',
  colWorker: '워커',
  inKernel: '이 커널',
  noRuns: '아직 학습이 없습니다. sd.train(...)으로 학습한 뒤 새로 고침하세요.',
  compareRun: '{name} 비교',
  resumeFrom: 'sd.resume은 {where}에서 이어 갑니다',
  segments: '{n}번 이어 감',
  segmentsTitle: '{n}부분으로 된 한 학습: {parts}',
  selectedLoss: '선택한 학습의 손실',
  noLoss: '선택한 학습에 기록된 손실이 없습니다',
  designDiff: '설계 차이',
  designSame: '설계가 같습니다(블록과 설정이 같음).',
  colBlock: '블록',
  colSetting: '설정',
  parameters: '하이퍼파라미터',
  differCount: '({n}개 다름)',
  onlyDifferences: '다른 것만',
  colParameter: '항목',
  designGroup: '설계'
};

export const TEXTS: Record<Lang, Record<TextKey, string>> = { en: EN, ko: KO };

/** The text `key` in `lang`, with `{name}` placeholders filled in. */
export function t(lang: Lang, key: TextKey, vars: Record<string, string | number> = {}): string {
  return TEXTS[lang][key].replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

/** A count with its singular form: `counted('ko', 3, 'copiedOne', 'copied')`. */
export function counted(lang: Lang, n: number, one: TextKey, many: TextKey): string {
  return n === 1 ? t(lang, one) : t(lang, many, { n });
}
