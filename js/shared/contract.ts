/**
 * GENERATED from slamdunk_lab/widgets/contract.py — do not edit.
 * Regenerate with `python -m slamdunk_lab.widgets`; a test fails while it is stale.
 */
/* eslint-disable */

/** One problem: which node and field (None: the whole design / no one field), and a sentence. */
export interface AnalysisIssue {
  node_id: string | null;
  field: string | null;
  message: string;
  /** The same sentence in Korean, where there is one. */
  message_ko: string | null;
}

/** ``sd.analyze(graph).to_json()``: what the canvas shows about the design. */
export interface AnalysisResult {
  ok: boolean;
  params: number;
  flops_per_token: number;
  train_flops_per_token: number;
  memory: Record<string, number>;
  n_layers: number;
  batch_size: number;
  context: number;
  dtype: string;
  nodes: Record<string, NodeAnalysis>;
  errors: AnalysisIssue[];
  warnings: AnalysisIssue[];
}

/** New monitor points, written from index ``start`` on. */
export interface Append {
  type: "append";
  start: number;
  points: Record<string, unknown>[];
}

/** Attention maps of the prompt: ``weights[layer][head][query][key]``. */
export interface AttentionData {
  tokens: string[];
  weights: number[][][][];
  layer_names: string[];
  offset: number;
}

/** A block's documentation in one language. */
export interface BlockDocs {
  summary: string;
  formula: string;
  shapes: string;
}

export interface CanvasState {
  _anchor: string;
  _view: "canvas";
  analysis_json: AnalysisResult | Empty;
  catalog: Catalog | Empty;
  file_label: string;
  graph: Graph;
  height: number;
  language: "auto" | "en" | "ko";
  name: string;
  notices: string[];
  templates: TemplateRow[];
  tokenizer_vocab: number | null;
}

/** Messages: FitView, Toast, InsertCell. */
export type CanvasToPage = FitView | Toast | InsertCell;

/** Messages: Hello, LoadTemplate, InsertCellResult. */
export type CanvasToPython = Hello | LoadTemplate | InsertCellResult;

/** ``sd.catalog()``. */
export interface Catalog {
  version: 1;
  blocks: CatalogBlock[];
  categories: string[];
  /** Each category in English and Korean. */
  category_titles: Record<string, Partial<Record<"en" | "ko", string>>>;
  roles: ("source" | "sink" | "group" | "residual" | "op")[];
  /** React Flow's own node type names; no block may use them. */
  reserved_types: string[];
}

/** One block type of ``sd.catalog()``: what the palette, the inspector and the connection checks read. */
export interface CatalogBlock {
  type: string;
  title: string;
  /** The title in English and Korean. */
  titles: Partial<Record<"en" | "ko", string>>;
  category: string;
  /** Input handle ids, in order. */
  inputs: string[];
  /** Output handle ids, in order. */
  outputs: string[];
  is_group: boolean;
  /** What the block is to the graph: source, sink, group, residual or op. */
  role: "source" | "sink" | "group" | "residual" | "op";
  /** What its inputs carry (None: it takes no input). */
  reads: ("ids" | "activations") | null;
  /** What its output carries (None: it has no output). */
  emits: ("ids" | "activations") | null;
  /** Whether its output may be the logits. */
  feeds_logits: boolean;
  color: string;
  defaults: Record<string, unknown>;
  /** JSON Schema of the block's data (the form). */
  schema: Record<string, unknown>;
  docs: Partial<Record<"en" | "ko", BlockDocs>>;
}

/** A setting that differs between the selected runs' designs. */
export interface DesignDiffRow {
  /** The block's place in the design: its type and, among several, its number. */
  node: string;
  field: string;
  values: Record<string, unknown>;
  /** The place as the page shows it, in English and Korean. */
  titles: Partial<Record<"en" | "ko", string>>;
}

/**
 * Answer of the canvas's design-file commands (Save, Save as, Open): the bound file, or why not;
 * ``exists``: Save as would replace another file (ask, then send ``overwrite``); ``files``: what Open offers.
 */
export interface DesignFileResponse {
  ok: boolean;
  file: string | null;
  error: string | null;
  exists: boolean | null;
  files: string[] | null;
}

/** A connection from one block's output handle to another block's input handle. */
export interface Edge {
  id?: string | null;
  source: string;
  target: string;
  sourceHandle?: string | null;
  targetHandle?: string | null;
}

/** An empty object (a value not computed yet). */
export type Empty = Record<string, never>;

/** Answer of the canvas's ``_export_code`` command (anywidget ``invoke``): the cell's code, or why not. */
export interface ExportCodeResponse {
  ok: boolean;
  code: string | null;
  error: string | null;
}

/** Zoom the canvas so that every block is visible. */
export interface FitView {
  type: "fit_view";
  nonce: number;
}

/** Generate button: continue ``prompt``. */
export interface Generate {
  type: "generate";
  prompt: string;
}

/** How ``sd.generate`` picks each next token (the defaults are ``sd.generate``'s). */
export interface GenerationSettings {
  /** How many tokens to write at most. */
  max_new_tokens?: number;
  /** 0 = always the most likely token; higher = more varied. */
  temperature?: number;
  /** Sample among the k most likely tokens; empty or 0 = no limit. */
  top_k?: number | null;
  /** Keep the fewest likely tokens whose probabilities add up to p; 1 = no limit. */
  top_p?: number;
  /** 1 = off; above 1 discourages repeating tokens. */
  repetition_penalty?: number;
  /** The same seed writes the same text; empty = a different draw each time. */
  seed?: number | null;
}

/** A whole design. ``name`` (optional) names the experiment it is trained under. */
export interface Graph {
  version?: 1;
  name?: string | null;
  nodes: Node[];
  edges?: Edge[];
  viewport?: Viewport;
}

/** The canvas view started; ``hook``: the page can insert cells (the JupyterLab extension is there). */
export interface Hello {
  type: "hello";
  hook: boolean;
}

/** Put ``code`` in a new cell below the widget (and run it when ``run``). */
export interface InsertCell {
  type: "insert_cell";
  nonce: number;
  code: string;
  run: boolean;
}

/** What became of an ``insert_cell`` request. */
export interface InsertCellResult {
  type: "insert_cell_result";
  nonce: number;
  ok: boolean;
  path?: string | null;
  index?: number | null;
  anchored?: boolean | null;
  copied?: boolean | null;
  error?: string | null;
}

/** The templates menu: replace the design by a template. */
export interface LoadTemplate {
  type: "load_template";
  name: string;
  size: string;
}

export interface MonitorState {
  _anchor: string;
  _store_key: string;
  _view: "monitor";
  can_stop: boolean;
  count: number;
  error: string;
  eta: number | null;
  experiment: string;
  height: number;
  language: "auto" | "en" | "ko";
  log_scale: boolean;
  mfu: number;
  mlflow_run_id: string;
  peak_flops: number;
  precision: string;
  precision_reason: string;
  precision_requested: string;
  running: boolean;
  sample: string;
  sample_step: number;
  state: string;
  status: string;
  step: number;
  stop_requested: boolean;
  title: string;
  tokens_per_s: number;
  total_steps: number | null;
}

/** Messages: Append, Reset, InsertCell. */
export type MonitorToPage = Append | Reset | InsertCell;

/** Messages: Stop, Sync, InsertCellResult. */
export type MonitorToPython = Stop | Sync | InsertCellResult;

/** A block on the canvas. ``data`` holds the block's settings; ``parentId`` puts it inside a group. */
export interface Node {
  id: string;
  type: string;
  position?: Position;
  data?: Record<string, unknown>;
  parentId?: string | null;
  locked?: boolean;
}

/** What the analysis found for one node (``params`` and ``flops`` count every repeat). */
export interface NodeAnalysis {
  id: string;
  type: string;
  shape: (string | number)[] | null;
  params: number;
  params_each: number;
  flops: number;
  repeat: number;
  parent: string | null;
}

/** A logged parameter of the selected runs. */
export interface ParamRow {
  key: string;
  group: string;
  values: Record<string, unknown>;
  differs: boolean;
}

export interface PlaygroundState {
  _anchor: string;
  _view: "playground";
  attention: AttentionData | Empty;
  can_inspect: boolean;
  error: string;
  inspect_error: string;
  language: "auto" | "en" | "ko";
  output: string;
  probs: ProbRow[];
  probs_prompt: string;
  prompt: string;
  running: boolean;
  settings: GenerationSettings;
  title: string;
}

/** Messages: InsertCell. */
export type PlaygroundToPage = InsertCell;

/** Messages: Generate, Stop, InsertCellResult. */
export type PlaygroundToPython = Generate | Stop | InsertCellResult;

export interface Position {
  x?: number;
  y?: number;
}

/** One bar of the next-token probabilities. */
export interface ProbRow {
  token: string;
  id: number;
  prob: number;
}

/** Read the runs again. */
export interface Refresh {
  type: "refresh";
}

/** Every monitor point (after a ``sync``, or a cleared monitor). */
export interface Reset {
  type: "reset";
  points: Record<string, unknown>[];
}

/** One run in the runs browser's table (a run and the runs that resumed it are one row). */
export interface RunRow {
  run_id: string;
  name: string;
  experiment: string;
  design: string;
  status: string;
  start_time: number | null;
  end_time: number | null;
  /** The last step reached (None while running or for older runs). */
  step: number | null;
  /** The planned steps. */
  steps: number | null;
  train_loss: number | null;
  val_loss: number | null;
  parameters: number | null;
  tokens_per_s: number | null;
  /** The Celery worker that trained it (None: in a kernel). */
  worker: string | null;
  /** Its newest checkpoint folder on disk (where sd.resume goes on). */
  checkpoint: string | null;
  /** Its segments, oldest first (one unless it was resumed). */
  segments: RunSegment[];
}

/** One part of a run that was stopped and resumed (its own MLflow run). */
export interface RunSegment {
  run_id: string;
  name: string;
  status: string;
  /** The step it resumed from (0 for the first). */
  start_step: number;
  /** The last step it reached. */
  step: number | null;
}

export interface RunsState {
  _anchor: string;
  _view: "runs";
  curves: Record<string, Record<string, [number, number][]>>;
  design_diff: DesignDiffRow[];
  error: string;
  height: number;
  language: "auto" | "en" | "ko";
  loading: boolean;
  params_diff: ParamRow[];
  rows: RunRow[];
  selected: string[];
  tracking_uri: string;
}

/** Messages: InsertCell. */
export type RunsToPage = InsertCell;

/** Messages: Refresh, InsertCellResult. */
export type RunsToPython = Refresh | InsertCellResult;

/** Stop button (monitor: the run after this step; playground: the generation). */
export interface Stop {
  type: "stop";
}

/** The monitor page missed points: send every point again. */
export interface Sync {
  type: "sync";
}

/** One row of the canvas's templates menu (``sd.templates()``). */
export interface TemplateRow {
  name: string;
  family: string;
  size: string;
  params: number;
  description: string;
  default: boolean;
}

/** A short message over the canvas. */
export interface Toast {
  type: "toast";
  nonce: number;
  message: string;
}

export interface Viewport {
  x?: number;
  y?: number;
  zoom?: number;
}

/** JSON of a monitor point: the step and one value per metric (null: not finite). */
export type MonitorPoint = { step: number } & Record<string, number | null>;

/** Version of the graph format. */
export const GRAPH_VERSION = 1 as const;

/** Fields React Flow adds to nodes and edges; never synced. */
export const REACT_FLOW_FIELDS = [
  "animated",
  "ariaLabel",
  "className",
  "connectable",
  "deletable",
  "draggable",
  "dragging",
  "expandParent",
  "extent",
  "focusable",
  "handles",
  "height",
  "hidden",
  "initialHeight",
  "initialWidth",
  "interactionWidth",
  "label",
  "labelStyle",
  "markerEnd",
  "markerStart",
  "measured",
  "origin",
  "positionAbsolute",
  "resizing",
  "selectable",
  "selected",
  "sourcePosition",
  "style",
  "targetPosition",
  "type_",
  "width",
  "zIndex"
] as const;

/** Size of a block box before React Flow measures it. */
export const NODE_SIZE = {
  "width": 176,
  "height": 64
} as const;

/** Room around the blocks inside a transformer block. */
export const GROUP_PADDING = {
  "x": 24,
  "top": 44,
  "bottom": 24
} as const;

/** The smallest transformer block box. */
export const GROUP_MIN_SIZE = {
  "width": 280,
  "height": 120
} as const;

/** [source, sourceHandle, target, targetHandle, id] as Python writes edge ids. */
export const EDGE_ID_EXAMPLES = [
  [
    "tok_emb",
    "out",
    "ln_1",
    "in",
    "e-tok_emb-ln_1"
  ],
  [
    "attn",
    "out",
    "add_1",
    "b",
    "e-attn-add_1-b"
  ],
  [
    "x",
    null,
    "y",
    null,
    "e-x-y"
  ],
  [
    "norm",
    "out",
    "mix",
    "a",
    "e-norm-mix-a"
  ]
] as const;

/** JSON Schema of the playground's settings form. */
export const GENERATION_SETTINGS_SCHEMA = {
  "additionalProperties": false,
  "description": "How ``sd.generate`` picks each next token (the defaults are ``sd.generate``'s).",
  "properties": {
    "max_new_tokens": {
      "default": 200,
      "description": "How many tokens to write at most.",
      "minimum": 0,
      "title": "Max new tokens",
      "type": "integer"
    },
    "temperature": {
      "default": 0.8,
      "description": "0 = always the most likely token; higher = more varied.",
      "minimum": 0,
      "title": "Temperature",
      "type": "number"
    },
    "top_k": {
      "anyOf": [
        {
          "minimum": 0,
          "type": "integer"
        },
        {
          "type": "null"
        }
      ],
      "default": 40,
      "description": "Sample among the k most likely tokens; empty or 0 = no limit.",
      "title": "Top-k"
    },
    "top_p": {
      "default": 0.95,
      "description": "Keep the fewest likely tokens whose probabilities add up to p; 1 = no limit.",
      "exclusiveMinimum": 0,
      "maximum": 1,
      "title": "Top-p",
      "type": "number"
    },
    "repetition_penalty": {
      "default": 1.0,
      "description": "1 = off; above 1 discourages repeating tokens.",
      "exclusiveMinimum": 0,
      "title": "Repetition penalty",
      "type": "number"
    },
    "seed": {
      "anyOf": [
        {
          "maximum": 9223372036854775807,
          "minimum": 0,
          "type": "integer"
        },
        {
          "type": "null"
        }
      ],
      "default": 0,
      "description": "The same seed writes the same text; empty = a different draw each time.",
      "title": "Seed"
    }
  },
  "title": "Generation settings",
  "type": "object"
};

/** The canvas's kernel command behind the Export code button. */
export const EXPORT_CODE_COMMAND = "_export_code" as const;

/** The canvas's kernel commands behind Save / Save as and Open (answers: DesignFileResponse). */
export const DESIGN_COMMANDS = {
  "save": "_save_design",
  "list": "_list_designs",
  "open": "_open_design"
} as const;
