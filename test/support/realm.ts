/**
 * Jest runs each suite in its own V8 context, while Node's `fetch` and its Response live in the
 * main one: `await response.json()` would hand the suite arrays and objects of another realm, which
 * strict deep equality tells apart from the suite's own. Parsing the text here, in the suite's
 * realm, keeps `assert.deepStrictEqual` meaningful. (Set up by jest.config.js for every suite.)
 */
Object.defineProperty(Response.prototype, "json", {
  value: async function json(this: Response) {
    return JSON.parse(await this.text());
  },
});
