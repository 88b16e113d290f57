/** The training monitor's ESM (anywidget `_esm`): no React Flow in it. */
import '../shared/theme.css';
import '../monitor/monitor.css';

import { initializeMonitor, renderMonitor } from '../monitor';

export default { initialize: initializeMonitor, render: renderMonitor };
