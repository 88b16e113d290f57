// @vitest-environment happy-dom
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import React from 'react';
import { afterEach, describe, expect, it } from 'vitest';

import { LineChart } from '../shared/LineChart';
import { fakeModel } from '../shared/testing/fakeModel';
import { MonitorApp, MonitorModel, statusText } from './MonitorApp';

afterEach(cleanup);

function monitor(over: Partial<MonitorModel> = {}) {
  return fakeModel<MonitorModel>({
    _anchor: '', _store_key: '', _view: 'monitor', title: 'Training', total_steps: 100, status: '', running: false, log_scale: false,
    height: 280, sample: '', sample_step: 0, can_stop: false, count: 0, state: '', step: 0, tokens_per_s: 0,
    eta: null, error: '', mlflow_run_id: '', experiment: '', stop_requested: false, language: 'en',
    precision: '', precision_requested: '', precision_reason: '', mfu: 0, peak_flops: 0, ...over
  });
}

const points = (n: number) => Array.from({ length: n }, (_, i) => ({ step: i, loss: 4 / (i + 1), lr: 1e-3 }));

/** The numbers in a path's "Mx,y Lx,y ..." commands. */
function coords(d: string | null): [number, number][] {
  return [...(d ?? '').matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map(m => [Number(m[1]), Number(m[2])]);
}

describe('LineChart', () => {
  it('draws one path per series through every point, higher values higher up', () => {
    render(
      <LineChart
        width={400}
        height={200}
        label="loss"
        series={[
          { name: 'loss', color: 'red', last: 1, points: [{ x: 0, y: 4 }, { x: 1, y: 2 }, { x: 2, y: 1 }] },
          { name: 'val_loss', color: 'blue', last: 3, dashed: true, points: [{ x: 2, y: 3 }] }
        ]}
      />
    );
    const loss = document.querySelector('path[data-series="loss"]')!;
    const xy = coords(loss.getAttribute('d'));
    expect(xy).toHaveLength(3);
    expect(xy[0][0]).toBeLessThan(xy[1][0]); // steps go right
    expect(xy[0][1]).toBeLessThan(xy[2][1]); // 4 is drawn above 1
    expect(xy.every(([x, y]) => x >= 0 && x <= 400 && y >= 0 && y <= 200)).toBe(true);
    expect(document.querySelector('path[data-series="val_loss"]')?.getAttribute('stroke-dasharray')).toBe('5 3');
    expect(screen.getByRole('img', { name: 'loss' })).toBeTruthy();
  });

  it('on a log axis, equal ratios are equal distances and non-positive values are skipped', () => {
    render(
      <LineChart
        width={400}
        height={200}
        label="loss"
        logY
        series={[{ name: 'loss', color: 'red', last: 1, points: [{ x: 0, y: 100 }, { x: 1, y: 10 }, { x: 2, y: 0 }, { x: 3, y: 1 }] }]}
      />
    );
    const [a, b, c] = coords(document.querySelector('path')!.getAttribute('d'));
    expect(b[1] - a[1]).toBeCloseTo(c[1] - b[1], 0);
  });

  it('says it is waiting when there is nothing to draw', () => {
    render(<LineChart width={300} height={100} label="loss" series={[]} />);
    expect(screen.getByText('waiting for the first logged step…')).toBeTruthy();
  });
});

describe('MonitorApp', () => {
  it('draws the points Python appends, with progress and a legend of the latest values', () => {
    const m = monitor({ state: 'running', running: true, can_stop: true, step: 0, total_steps: 10 });
    render(<MonitorApp model={m} />);
    act(() => m.pySend({ type: 'append', start: 0, points: points(3) }));
    act(() => m.pySet('step', 3));
    expect(document.querySelector('.sdl-monitor')?.getAttribute('data-points')).toBe('3');
    expect(coords(document.querySelector('path[data-series="loss"]')!.getAttribute('d'))).toHaveLength(3);
    // the learning rate gets its own small chart
    expect(document.querySelector('[data-chart="learning rate"] path[data-series="lr"]')).toBeTruthy();
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('3');
    expect(document.querySelector('[data-figure="steps"]')?.textContent).toBe('3/10');
    expect(document.querySelector('.sdl-legend-item[data-series="loss"]')?.textContent).toBe('loss 1.333');
  });

  it('asks Python for the whole history when a batch was missed', () => {
    const m = monitor();
    render(<MonitorApp model={m} />);
    act(() => m.pySend({ type: 'append', start: 5, points: points(1) }));
    expect(m.sent).toEqual([{ type: 'sync' }]);
    act(() => m.pySend({ type: 'reset', points: points(6) }));
    expect(document.querySelector('.sdl-monitor')?.getAttribute('data-points')).toBe('6');
  });

  it('Stop asks Python to stop; the log-scale switch is saved', () => {
    const m = monitor({ state: 'running', running: true, can_stop: true });
    render(<MonitorApp model={m} />);
    fireEvent.click(screen.getByRole('button', { name: 'Stop' }));
    expect(m.sent).toContainEqual({ type: 'stop' });
    fireEvent.click(screen.getByRole('button', { name: 'linear y' }));
    expect(m.get('log_scale')).toBe(true);
    expect(m.saves).toBe(1);
    act(() => m.pySet('can_stop', false));
    expect((screen.getByRole('button', { name: 'Stop' }) as HTMLButtonElement).disabled).toBe(true);
  });
});

describe('the monitor in Korean', () => {
  it('shows its buttons, state, figures and end in Korean', () => {
    render(
      <MonitorApp
        model={monitor({ language: 'ko', state: 'stopped', step: 7, total_steps: 30, tokens_per_s: 1234,
          status: 'stopped at step 7; sd.resume(run) continues from step-000007' })}
      />
    );
    const root = document.querySelector('.sdl-monitor')!;
    expect(root.getAttribute('lang')).toBe('ko');
    expect(screen.getByRole('button', { name: '멈춤' })).toBeTruthy();
    expect(root.textContent).toContain('7단계에서 멈춤 · sd.resume은 step-000007에서 이어 갑니다');
    expect(root.textContent).toContain('초당 1,234 토큰');
    expect(root.textContent).not.toMatch(/stopped|tok\/s|ETA|linear/);
  });

  it('keeps Python\'s English line in English and says a killed run was killed', () => {
    expect(statusText('en', 'finished', 'finished at step 40', 40, false)).toBe('finished at step 40');
    expect(statusText('ko', 'stopped', 'killed at step 5', 5, false)).toBe('5단계에서 강제 종료');
    expect(statusText('ko', 'running', 'running on cpu (float32)', 3, true)).toBe('4단계가 끝나면 멈춥니다…');
  });
});

describe('precision and MFU', () => {
  const running = {
    state: 'running', running: true, step: 10, tokens_per_s: 5000, precision: 'bfloat16', precision_requested: 'auto',
    precision_reason: 'bfloat16 autocast, 1.6× faster: ...', mfu: 0.0345, peak_flops: 2.5e11
  };

  it('shows the chosen precision with its reason and the MFU with what it means', () => {
    const { container } = render(<MonitorApp model={monitor(running)} />);
    const chip = container.querySelector('[data-figure="precision"]')!;
    expect(chip.textContent).toBe('bfloat16 (auto)');
    expect(chip.getAttribute('title')).toContain('1.6× faster');
    const mfu = container.querySelector('[data-figure="mfu"]')!;
    expect(mfu.textContent).toBe('MFU 3.5%');
    expect(mfu.getAttribute('title')).toContain('250 GFLOP/s');
    expect(mfu.getAttribute('title')).toContain('bfloat16');
  });

  it('speaks Korean, and shows a precision that was asked for without "(auto)"', () => {
    const { container } = render(
      <MonitorApp model={monitor({ ...running, precision: 'float32', precision_requested: 'float32', language: 'ko' })} />
    );
    expect(container.querySelector('[data-figure="precision"]')!.textContent).toBe('float32');
    expect(container.querySelector('[data-figure="mfu"]')!.getAttribute('title')).toContain('활용률');
  });

  it('shows no MFU before the machine peak is known', () => {
    const { container } = render(<MonitorApp model={monitor({ ...running, peak_flops: 0 })} />);
    expect(container.querySelector('[data-figure="mfu"]')).toBeNull();
  });
});
