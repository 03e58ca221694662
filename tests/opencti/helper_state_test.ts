import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  decodeState,
  encodeState,
  NO_STATE,
  statesDiffer,
} from "../../src/opencti/connector_state.ts";

const t = suite("opencti: connector state");

t("decode reads a JSON object", () => {
  assert.equal(decodeState('{"next_position":"abc"}'), {
    next_position: "abc",
  });
});

t("decode treats empty forms as none", () => {
  const empty = [null, undefined, "", "  ", "null", "{}", "[]", "[1]", "3"];
  for (const text of empty) {
    assert.is(decodeState(text), undefined, `input ${String(text)}`);
  }
});

t("decode treats invalid JSON as none", () => {
  assert.is(decodeState("{not json"), undefined);
});

t("encode writes null for no state", () => {
  assert.is(encodeState(undefined), NO_STATE);
  assert.is(encodeState({}), "null");
  assert.is(encodeState({ a: 1 }), '{"a":1}');
});

t("differ ignores key order and none forms", () => {
  assert.is(statesDiffer('{"a":1,"b":2}', '{"b":2,"a":1}'), false);
  assert.is(statesDiffer("null", ""), false);
  assert.is(statesDiffer("null", null), false);
  assert.is(statesDiffer("null", "{}"), false);
});

t("differ sees a reset and a change", () => {
  assert.is(statesDiffer('{"a":1}', ""), true);
  assert.is(statesDiffer('{"a":1}', '{"a":2}'), true);
  assert.is(statesDiffer("null", '{"a":1}'), true);
});

t.run();
