/** The canvas's ESM (anywidget `_esm`): React Flow's stylesheet and ours, and the canvas view. */
import xyflowCss from '@xyflow/react/dist/style.css?text';
import '../shared/theme.css';
import '../canvas/canvas.css';

import { renderCanvas } from '../canvas';
import { injectStyle } from '../shared/style';

injectStyle('sdl-xyflow-css', xyflowCss);

export default { render: renderCanvas };
