import { createRecorder, type Recorder } from '../../src/proxy/recorder.js';
import { createUpstream } from '../../src/proxy/upstream.js';
import { RecordingStore } from '../../src/recording/recording-store.js';
import { tempDir } from './temp-dir.js';

/** A replay-mode recorder over an empty recordings folder with an unreachable upstream; what needs closing goes into `running`. */
export async function emptyReplayer(running: Array<{ close(): Promise<void> | void }>, bodyLimit = 100_000): Promise<Recorder> {
  const store = new RecordingStore(await tempDir());
  running.push(store);
  const upstream = createUpstream('http://127.0.0.1:9', {}, { headers: 1_000, idle: 1_000 });
  running.push(upstream);
  return createRecorder({ mode: 'replay', store, upstream, bodyLimit });
}
