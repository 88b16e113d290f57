/** anywidget entry point of the monitor view. */
import React from 'react';

import type { RenderProps } from '../shared/anywidget';
import { anchorId, mount } from '../shared/mount';
import { MonitorApp, MonitorModel } from './MonitorApp';

export function renderMonitor({ model, el }: RenderProps<MonitorModel>): () => void {
  return mount(el, anchorId(model), 'sdl-monitor-root', <MonitorApp model={model} />);
}
