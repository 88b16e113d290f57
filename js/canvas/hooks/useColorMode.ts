/** React Flow's colour mode, following JupyterLab's light/dark theme. */
import type { ColorMode } from '@xyflow/react';
import { useEffect, useState } from 'react';

import { isLightTheme, watchTheme } from '../../shared/mount';

export function useColorMode(): ColorMode {
  const [light, setLight] = useState(isLightTheme);
  useEffect(() => watchTheme(setLight), []);
  return light ? 'light' : 'dark';
}
