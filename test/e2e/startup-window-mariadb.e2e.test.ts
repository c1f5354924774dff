/** 20 starts on mariadb: see test/helpers/startup-window.ts. */
import { startupWindowTest } from '../helpers/startup-window';

startupWindowTest('mariadb');
