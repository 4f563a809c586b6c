import { exitOnStartFailure, serve } from './server.js';

serve().catch(exitOnStartFailure);
