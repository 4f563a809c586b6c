import type { Db } from '../db/client.js';
import { newId } from '../ids.js';
import type { NewRecord, RecordsRepo, View } from './records-repo.js';
import { presentRecord, type ApiObject, type RecordsService } from './records-service.js';
import type { ConversationIngest } from './resource-schemas.js';
import { CONVERSATIONS, TRACE_OBJECT } from './resources.js';

export interface ConversationsDeps {
  db: Db;
  repo: RecordsRepo;
  records: Pick<RecordsService, 'checkReferences' | 'emit'>;
  now: () => Date;
}

const PARTICIPANT_REFERENCES = { contact_id: 'contact', agent_id: 'agent' };

/**
 * POST /api/v1/conversations ingests a transcript. The conversation keeps its summary (channel, subject,
 * participants, message count, first and last message times, metadata); each message becomes one trace
 * (`object: "trace"`, `type: "message"`, its 1-based `sequence`, the participant, the text, `sent_at`),
 * listed by GET /api/v1/conversations/{id}/traces. The conversation and its traces are written in one
 * transaction: a transcript is never half ingested.
 */
export function createConversationsService(deps: ConversationsDeps) {
  const { db, repo } = deps;

  return {
    async ingest(view: View, input: ConversationIngest): Promise<ApiObject> {
      for (const [index, participant] of input.participants.entries()) {
        await deps.records.checkReferences(db, view, PARTICIPANT_REFERENCES, participant, `participants.${index}.`);
      }
      const { conversation, traces } = transcriptRecords(input, deps.now());
      return db.transaction().execute(async (tx) => {
        const row = await repo.insert(tx, view, conversation);
        await repo.insertMany(tx, view, traces);
        const object = presentRecord(row);
        await deps.records.emit(tx, view, 'conversation.created', object);
        return object;
      });
    },
  };
}

/** The rows of one ingested transcript: the conversation and one trace per message (also used by the demo data). */
export function transcriptRecords(input: ConversationIngest, at: Date): { conversation: NewRecord; traces: NewRecord[] } {
  const conversationId = newId(CONVERSATIONS.prefix, at.getTime());
  const participants = new Map(input.participants.map((p) => [p.id, p]));
  const sentAt = input.messages.map((m) => new Date(m.sent_at).toISOString());
  const sortedTimes = [...sentAt].sort();
  // Ids made in one millisecond sort randomly; sorting them before handing them out makes id order message order.
  const traceIds = input.messages.map(() => newId('trc', at.getTime())).sort();
  const traces: NewRecord[] = input.messages.map((message, index) => {
    const participant = participants.get(message.participant);
    return {
      id: traceIds[index] ?? newId('trc', at.getTime()),
      kind: TRACE_OBJECT,
      parentId: conversationId,
      at,
      data: {
        conversation_id: conversationId,
        type: 'message',
        sequence: index + 1,
        participant: { id: message.participant, role: participant?.role ?? null, name: participant?.name ?? null },
        text: message.text,
        sent_at: sentAt[index],
      },
    };
  });
  const conversation: NewRecord = {
    id: conversationId,
    kind: CONVERSATIONS.object,
    at,
    data: {
      external_id: input.external_id,
      channel: input.channel,
      subject: input.subject,
      participants: input.participants,
      message_count: input.messages.length,
      started_at: sortedTimes[0] ?? null,
      ended_at: sortedTimes.at(-1) ?? null,
      metadata: input.metadata,
    },
  };
  return { conversation, traces };
}

export type ConversationsService = ReturnType<typeof createConversationsService>;
