/** anywidget entry point of the monitor view. */
import React from 'react';

import type { AnyModel, RenderProps } from '../shared/anywidget';
import { anchorId, mount } from '../shared/mount';
import { MonitorApp, MonitorModel } from './MonitorApp';
import { initHistory } from './history';

/** Per model, before any view: start collecting the appended points (none is missed while no view exists). */
export function initializeMonitor({ model }: { model: AnyModel<MonitorModel> }): () => void {
  return initHistory(model);
}

export function renderMonitor({ model, el }: RenderProps<MonitorModel>): () => void {
  return mount(el, anchorId(model), 'sdl-monitor-root', <MonitorApp model={model} />);
}
