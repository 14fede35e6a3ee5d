/**
 * The dead-letter topic: every message that could not become a row (and every event too late for a
 * window: the late side output), with its original key and value and headers saying why and where it
 * came from:
 *   tally.pipeline         <namespace>/<name>
 *   tally.topic            source topic
 *   tally.partition        source partition
 *   tally.offset           source offset
 *   tally.error.kind       decode | schema | field | transform | late
 *   tally.error            the reason, naming the field or window concerned
 *   tally.error.field      the field concerned, when there is one
 *   tally.window           the window, for `late`
 * Dead letters are produced before the batch's offsets are committed, so none is lost; a replayed batch
 * produces its dead letters again (at-least-once: consumers of the topic deduplicate by topic, partition,
 * offset and kind). Without spec.deadLetter the records are logged instead, never silently dropped.
 */
import type { IHeaders, Message, Producer } from "kafkajs";
import type { DeadLetter } from "../pipeline/partition-processor.js";

export const deadLetterHeaders = {
  pipeline: "tally.pipeline",
  topic: "tally.topic",
  partition: "tally.partition",
  offset: "tally.offset",
  kind: "tally.error.kind",
  error: "tally.error",
  field: "tally.error.field",
  window: "tally.window",
} as const;

export function deadLetterMessage(letter: DeadLetter, pipeline: string): Message {
  const headers: IHeaders = {
    [deadLetterHeaders.pipeline]: pipeline,
    [deadLetterHeaders.topic]: letter.origin.topic,
    [deadLetterHeaders.partition]: String(letter.origin.partition),
    [deadLetterHeaders.offset]: String(letter.origin.offset),
    [deadLetterHeaders.kind]: letter.kind,
    [deadLetterHeaders.error]: letter.message,
  };
  if (letter.field !== undefined) headers[deadLetterHeaders.field] = letter.field;
  if (letter.window !== undefined) headers[deadLetterHeaders.window] = letter.window;
  return { key: letter.key, value: letter.value, headers };
}

export interface DeadLetterSink {
  send(letters: readonly DeadLetter[]): Promise<void>;
}

export function kafkaDeadLetterSink(producer: Producer, topic: string, pipeline: string): DeadLetterSink {
  return {
    async send(letters) {
      if (letters.length === 0) return;
      await producer.send({ topic, acks: -1, messages: letters.map((l) => deadLetterMessage(l, pipeline)) });
    },
  };
}

export function loggingDeadLetterSink(log: (letter: DeadLetter) => void): DeadLetterSink {
  return {
    async send(letters) {
      for (const letter of letters) log(letter);
    },
  };
}
