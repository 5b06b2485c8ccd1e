/**
 * Benchmark target (b): the receiver Google's guide shows (Express + `standardwebhooks`), as users
 * would copy it. The guide's sample does not run as printed (`await req.text()` and
 * `req.headers.forEach` do not exist in Express); the two lines are replaced by their working
 * equivalents, everything else is as written: `express.text`, one secret, a `Webhook` per request.
 */
import express from "express";
import { Webhook } from "standardwebhooks";

const app = express();
app.use(express.text({ type: "application/json" }));

app.post("/gemini-callback", async (req, res) => {
  const payload = req.body as string; // guide: await req.text()
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.headers)) headers[key] = String(value); // guide: req.headers.forEach
  try {
    const wh = new Webhook(process.env.WEBHOOK_SIGNING_SECRET as string);
    const event = wh.verify(payload, headers) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    if (event.type === "batch.completed" || event.type === "video.generated") {
      const uri = event.data.output_file_uri;
      console.log(`Job finished! Results at: ${uri}`);
    }
    res.status(200).json({ status: "received" });
  } catch (e) {
    console.error("Webhook verification failed:", e);
    res.status(400).send("Invalid signature");
  }
});

const server = app.listen(0, "127.0.0.1", () => console.log(`listening ${(server.address() as { port: number }).port}`));
