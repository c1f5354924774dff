/** 20 starts on postgres: see test/helpers/startup-window.ts. */
import { startupWindowTest } from '../helpers/startup-window';

startupWindowTest('postgres');
