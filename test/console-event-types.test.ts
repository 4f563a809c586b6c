// The console's event form lists the types the API accepts: the two lists are kept the same here.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { EVENT_TYPE_NAMES } from '../console/src/events/event-types.js';
import { EVENT_TYPES } from '../src/events/event-types.js';

it('the console offers every event type the API knows, each once, and no other', () => {
  assert.deepEqual([...EVENT_TYPE_NAMES].sort(), [...EVENT_TYPES].sort());
  assert.equal(new Set(EVENT_TYPE_NAMES).size, EVENT_TYPE_NAMES.length);
});
