// Your code: the receiver runs handle(event, meta) for every verified event, at least once (make
// its effects idempotent on meta.webhookId). This one forwards each event to FORWARD_URL when it is
// set (your service, a queue's HTTP endpoint, …) and logs it. A throw — here a non-2xx answer or an
// unreachable FORWARD_URL — means "try again later": the event is retried, and after
// HANDLER_MAX_ATTEMPTS it is dead-lettered (`dead-letters list`, `replay`). meta.signal is aborted
// at HANDLER_TIMEOUT_MS and at shutdown: pass it on, so a stuck call never holds a worker.
"use strict";

exports.handle = async function handle(event, meta) {
  const url = process.env.FORWARD_URL;
  if (url) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": meta.webhookId },
      body: JSON.stringify({ webhook_id: meta.webhookId, attempt: meta.attempt, type: event.type, data: event.data }),
      signal: meta.signal,
    });
    if (!response.ok) throw new Error(`FORWARD_URL answered ${response.status}`);
  }
  console.log(JSON.stringify({ level: 30, time: Date.now(), msg: "handled", webhook_id: meta.webhookId, type: event.type, attempt: meta.attempt }));
};
