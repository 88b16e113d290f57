/** The runs browser's ESM (anywidget `_esm`): no React Flow in it. */
import '../shared/theme.css';
import '../runs/runs.css';

import { renderRuns } from '../runs';

export default { render: renderRuns };
