import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  detectImageType,
  firstBytesHex,
} from "../../src/threathq/image_type.ts";
import { generatePng } from "../support/threat_generator.ts";

const t = suite("threathq: image type");

const bytes = (...values: number[]) => new Uint8Array(values);
const text = (value: string) => new TextEncoder().encode(value);

t("PNG, JPEG and GIF by magic bytes", () => {
  assert.equal(detectImageType(generatePng(1, 200)), {
    mimeType: "image/png",
    extension: "png",
  });
  assert.equal(detectImageType(bytes(0xff, 0xd8, 0xff, 0xdb, 0, 0)), {
    mimeType: "image/jpeg",
    extension: "jpg",
  });
  for (const header of ["GIF87a", "GIF89a"]) {
    assert.equal(detectImageType(text(`${header}\x01\x00`)), {
      mimeType: "image/gif",
      extension: "gif",
    }, header);
  }
});

t("other bodies are not images", () => {
  const cases: Array<[string, Uint8Array]> = [
    ["PDF", text("%PDF-1.4\n")],
    ["HTML", text("<html>")],
    ["empty", bytes()],
    ["PNG signature cut short", bytes(0x89, 0x50, 0x4e, 0x47)],
    ["GIF of an unknown version", text("GIF88a")],
    ["JPEG start without a marker", bytes(0xff, 0xd8)],
  ];
  for (const [name, body] of cases) {
    assert.is(detectImageType(body), undefined, name);
  }
});

t("first bytes as hex", () => {
  assert.is(firstBytesHex(text("<html>error")), "3c 68 74 6d 6c 3e 65 72");
  assert.is(firstBytesHex(bytes(1, 0xab)), "01 ab");
  assert.is(firstBytesHex(bytes()), "");
});

t.run();
