// A real Yjs client: syncs one project through the StrumSpace sync endpoint.
// Usage: node client.mjs <ws base url, e.g. ws://127.0.0.1:8787/v1/sync> <project id> <ticket>
// Prints one JSON line when synced, sets meta.title, and prints a second line once
// meta.reply (written by the Python peer) arrives.
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

const [base, project, ticket] = process.argv.slice(2)
const doc = new Y.Doc()
const roots = () => Object.fromEntries(
  [...doc.share.keys()].sort().map((name) => [name, doc.getMap(name).toJSON()]))

setTimeout(() => { console.error('timed out'); process.exit(2) }, 20000)

// One connection only: a ticket is single-use, so no reconnects.
const provider = new WebsocketProvider(base, project, doc, {
  WebSocketPolyfill: WebSocket, params: { ticket }, maxBackoffTime: 60000, disableBc: true
})
provider.on('connection-close', (event) => {
  console.error('closed', event && event.code); process.exit(3)
})
provider.once('sync', () => {
  console.log(JSON.stringify({ synced: roots() }))
  const meta = doc.getMap('meta')
  meta.observe(() => {
    if (meta.has('reply')) {
      console.log(JSON.stringify({ final: roots() }))
      process.exit(0)
    }
  })
  meta.set('title', 'from yjs')
})
