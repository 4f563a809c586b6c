// The server as `npm start` runs it, with the audit log switched by BENCH_AUDIT=off, so that one
// benchmark can measure what auditing costs on the same route. Never used outside bench/.
import { exitOnStartFailure, serve } from '../src/server.js';

serve({ audit: process.env.BENCH_AUDIT !== 'off' }).catch(exitOnStartFailure);
