/** 20 starts on memory: see test/helpers/startup-window.ts. */
import { startupWindowTest } from '../helpers/startup-window';

startupWindowTest('memory');
