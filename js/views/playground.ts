/** The playground's ESM (anywidget `_esm`): no React Flow in it. */
import '../shared/theme.css';
import '../playground/playground.css';

import { renderPlayground } from '../playground';

export default { render: renderPlayground };
