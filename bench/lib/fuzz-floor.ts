// The floor of bench/fuzz.ts, run as its own process like the gateway: a bare express server that parses JSON
// bodies as the gateway does (256 kB) and answers 404 to everything, on 127.0.0.1:$PORT.
import express from 'express';

const app = express();
app.use(express.json({ limit: '256kb' }));
app.use((_req, res) => void res.status(404).json({ status: 404 }));
const server = app.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
