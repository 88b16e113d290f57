import { describe, expect, it } from 'vitest';

import { formatSteps, formatValue, overlaySeries, segmentsText, stateLabel, statusTitle, toggle } from './compare';

describe('runs browser helpers', () => {
  const curves = {
    a: { loss: [[1, 4], [2, 3]] as [number, number][], val_loss: [[2, 3.5]] as [number, number][] },
    b: { loss: [[1, 5]] as [number, number][], val_loss: [] as [number, number][] }
  };

  it('overlays one series per selected run and metric, in selection order', () => {
    const s = overlaySeries(['b', 'a', 'missing'], curves, { a: 'run-a', b: 'run-b' });
    expect(s.map(x => x.id)).toEqual(['b:loss', 'a:loss', 'a:val_loss']);
    expect(s.map(x => x.runIndex)).toEqual([0, 1, 1]);
    expect(s[1].name).toBe('run-a loss');
    expect(s[1].points).toEqual([{ x: 1, y: 4 }, { x: 2, y: 3 }]);
    expect(s[2].last).toBe(3.5);
  });

  it('toggles the selection in click order and formats values', () => {
    expect(toggle(['a'], 'b')).toEqual(['a', 'b']);
    expect(toggle(['a', 'b'], 'a')).toEqual(['b']);
    expect(formatValue(null)).toBe('—');
    expect(formatValue({ n: 1 })).toBe('{"n":1}');
    expect(formatValue(0.001)).toBe('0.001');
  });

  it('shows how far a run that ended early got', () => {
    expect(formatSteps({ step: 7, steps: 20 })).toBe('7/20');
    expect(formatSteps({ step: 20, steps: 20 })).toBe('20');
    expect(formatSteps({ step: null, steps: 20 })).toBe('20');
    expect(formatSteps({ step: null, steps: null })).toBe('–');
  });
});

describe('run states as a student reads them', () => {
  it('names each state in English and Korean, MLflow\'s upper-case words too', () => {
    expect(stateLabel('en', 'stopped')).toBe('stopped');
    expect(stateLabel('ko', 'stopped')).toBe('멈춤');
    expect(stateLabel('en', 'FINISHED')).toBe('finished');
    expect(stateLabel('en', 'SCHEDULED')).toBe('scheduled');
  });

  it('says where a stopped run resumes from, and lists a resumed run\'s parts', () => {
    expect(statusTitle('en', { status: 'stopped', checkpoint: '/r/x/step-000007' })).toBe(
      'sd.resume continues from /r/x/step-000007'
    );
    expect(statusTitle('en', { status: 'finished', checkpoint: '/r/x/step-000030' })).toBe('');
    const parts = [
      { run_id: 'a', name: 'x', status: 'stopped', start_step: 0, step: 7 },
      { run_id: 'b', name: 'x-2', status: 'finished', start_step: 7, step: 30 }
    ];
    expect(segmentsText('en', parts)).toBe('resumed 1×');
    expect(segmentsText('en', parts, true)).toBe('one run in 2 parts: x (0–7), x-2 (7–30)');
  });
});
