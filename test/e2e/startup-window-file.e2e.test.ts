/** 20 starts on file: see test/helpers/startup-window.ts. */
import { startupWindowTest } from '../helpers/startup-window';

startupWindowTest('file');
