/**
 * The one ESM bundle of SLaM Dunk Lab's notebook widgets (anywidget `_esm`).
 *
 * Every Python widget class sets the `_view` traitlet; `render` dispatches to
 * that view. Named `render*` exports allow a single view to be used directly.
 */
import xyflowCss from '@xyflow/react/dist/style.css?text';
import './shared/theme.css';
import './canvas/canvas.css';
import './monitor/monitor.css';
import './playground/playground.css';
import './runs/runs.css';

import type { RenderProps } from './shared/anywidget';
import { renderCanvas } from './canvas';
import { initializeMonitor, renderMonitor } from './monitor';
import { renderPlayground } from './playground';
import { renderRuns } from './runs';
import { injectStyle } from './shared/style';

injectStyle('sdl-xyflow-css', xyflowCss);

export { renderCanvas, renderMonitor, renderPlayground, renderRuns };

type AnyRender = (props: RenderProps<any>) => (() => void) | void; // eslint-disable-line @typescript-eslint/no-explicit-any

export const views: Record<string, AnyRender> = {
  canvas: renderCanvas,
  monitor: renderMonitor,
  playground: renderPlayground,
  runs: renderRuns
};

/** Per-model set-up before any view (anywidget `initialize`), for views that need one. */
export const initializers: Record<string, (props: { model: any }) => (() => void) | void> = { // eslint-disable-line @typescript-eslint/no-explicit-any
  monitor: initializeMonitor
};

function render(props: RenderProps<{ _view: string }>): (() => void) | void {
  const name = props.model.get('_view');
  const view = views[name];
  if (!view) {
    props.el.textContent = `SLaM Dunk Lab: unknown view "${name}" (widget bundle out of date? run npm run build)`;
    return;
  }
  return view(props);
}

function initialize(props: { model: { get(key: string): unknown } }): (() => void) | void {
  return initializers[String(props.model.get('_view'))]?.(props);
}

export default { initialize, render };
