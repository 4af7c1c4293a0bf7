import { isJsonObject, type JsonObject, type JsonValue } from '../recording/json-value.js';
import type { ImageRef } from './api-types.js';

/**
 * The images a request carries, so the page can show them as images:
 * OpenAI's `image_url` and Responses' `input_image` parts, Anthropic's
 * `image` parts, and Ollama's base64 `images` (of a message, or of a
 * generate request). Only inline data is shown; a remote URL is named, never
 * loaded, so opening a recording fetches nothing from the network.
 */
export function imagesOf(body: JsonValue): { messages: Record<string, ImageRef[]>; request: ImageRef[] } {
  const messages: Record<string, ImageRef[]> = {};
  if (!isJsonObject(body)) return { messages, request: [] };
  // The same messages, in the same order, as src/inspect/conversation.ts reads.
  const list = Array.isArray(body['messages']) ? body['messages'].filter(isJsonObject) : [];
  list.forEach((message, index) => {
    const images = [...partsImages(message['content']), ...base64List(message['images'])];
    if (images.length > 0) messages[String(index)] = images;
  });
  return { messages, request: base64List(body['images']) };
}

function partsImages(content: JsonValue | undefined): ImageRef[] {
  if (!Array.isArray(content)) return [];
  const images: ImageRef[] = [];
  for (const part of content) {
    if (!isJsonObject(part)) continue;
    const image = imageOfPart(part);
    if (image !== undefined) images.push(image);
  }
  return images;
}

function imageOfPart(part: JsonObject): ImageRef | undefined {
  const url = part['image_url'];
  if (typeof url === 'string') return refOf(url);
  if (isJsonObject(url) && typeof url['url'] === 'string') return refOf(url['url']);
  const source = part['source'];
  if (part['type'] === 'image' && isJsonObject(source)) {
    if (source['type'] === 'base64' && typeof source['data'] === 'string') {
      const type = typeof source['media_type'] === 'string' ? source['media_type'] : sniff(source['data']);
      return dataRef(type, source['data']);
    }
    if (typeof source['url'] === 'string') return refOf(source['url']);
  }
  return undefined;
}

function base64List(value: JsonValue | undefined): ImageRef[] {
  if (!Array.isArray(value)) return [];
  const images: ImageRef[] = [];
  for (const data of value) {
    const image = typeof data !== 'string' ? undefined : data.startsWith('data:') ? refOf(data) : dataRef(sniff(data), data);
    if (image !== undefined) images.push(image);
  }
  return images;
}

function refOf(url: string): ImageRef | undefined {
  if (/^data:image\/[a-z0-9.+-]+(;[^,]*)?,/i.test(url)) return { kind: 'data', src: url };
  if (/^https?:\/\//i.test(url)) return { kind: 'remote', url };
  return undefined;
}

function dataRef(type: string, base64: string): ImageRef | undefined {
  if (!/^image\/[a-z0-9.+-]+$/i.test(type) || !/^[A-Za-z0-9+/=\s]*$/.test(base64)) return undefined;
  return { kind: 'data', src: `data:${type};base64,${base64.replace(/\s+/g, '')}` };
}

/** The image type from the first bytes of base64 data (Ollama sends no type). */
function sniff(base64: string): string {
  if (base64.startsWith('/9j/')) return 'image/jpeg';
  if (base64.startsWith('R0lGOD')) return 'image/gif';
  if (base64.startsWith('UklGR')) return 'image/webp';
  if (base64.startsWith('Qk')) return 'image/bmp';
  return 'image/png';
}
