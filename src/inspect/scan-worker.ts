// A worker thread of a folder scan (scan.ts): reads, parses and summarizes the batches of files it is sent.
import { parentPort, workerData } from 'node:worker_threads';
import { createMatchRules } from '../recording/match-rules.js';
import { readRecording } from './folder.js';
import type { ScanBatch, ScanBatchResult, ScanWorkerData } from './scan.js';
import { summarizer } from './scan-task.js';

const task = workerData as ScanWorkerData;
// Compiled rules (regular expressions) cannot cross threads: each worker builds them from the config.
const summarize = summarizer(task.kind, task.options, createMatchRules(task.rules.config, task.rules.source));

parentPort!.on('message', ({ batch, files }: ScanBatch) => {
  parentPort!.postMessage({ batch, entries: files.map((file) => summarize(readRecording(file))) } satisfies ScanBatchResult);
});
