import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foldIntoPages, pageItems, type Pages } from './page-cache';

interface Row {
  id: string;
  state: string;
}

// Rows in id order (the list's order here); two pages loaded, more on the server.
const loaded: Pages<Row> = {
  pages: [
    {
      items: [
        { id: 'a', state: 'running' },
        { id: 'b', state: 'running' },
      ],
      nextCursor: 'c1',
    },
    {
      items: [
        { id: 'c', state: 'running' },
        { id: 'd', state: 'running' },
      ],
      nextCursor: 'c2',
    },
  ],
  pageParams: [undefined, 'c1'],
};
const byId = (a: Row, b: Row) => a.id < b.id;

test('a loaded row that changed is replaced where it is, on its page', () => {
  const fold = foldIntoPages(
    loaded,
    { id: 'c', state: 'hibernated' },
    {
      matches: true,
      sortsBefore: byId,
    },
  );
  assert.equal(fold.kind, 'replace');
  assert.deepEqual(
    fold.kind === 'replace' ? pageItems(fold.data).map((row) => `${row.id}:${row.state}`) : [],
    ['a:running', 'b:running', 'c:hibernated', 'd:running'],
  );
  assert.deepEqual(fold.kind === 'replace' ? fold.data.pageParams : [], [undefined, 'c1']);
});

test('a loaded row that left the filter refetches the list', () => {
  assert.equal(
    foldIntoPages(loaded, { id: 'b', state: 'stopped' }, { matches: false, sortsBefore: byId })
      .kind,
    'refetch',
  );
});

test('a new row refetches only if it sorts among the loaded pages', () => {
  const within = foldIntoPages(
    loaded,
    { id: 'bb', state: 'running' },
    {
      matches: true,
      sortsBefore: byId,
    },
  );
  assert.equal(within.kind, 'refetch');
  const beyond = foldIntoPages(
    loaded,
    { id: 'zz', state: 'running' },
    {
      matches: true,
      sortsBefore: byId,
    },
  );
  assert.equal(beyond.kind, 'ignore', '"Show more" will bring it');
  const other = foldIntoPages(
    loaded,
    { id: 'bb', state: 'stopped' },
    {
      matches: false,
      sortsBefore: byId,
    },
  );
  assert.equal(other.kind, 'ignore', 'not of this list');
  const complete: Pages<Row> = {
    pages: [{ items: [{ id: 'a', state: 'running' }], nextCursor: null }],
    pageParams: [undefined],
  };
  assert.equal(
    foldIntoPages(complete, { id: 'zz', state: 'running' }, { matches: true, sortsBefore: byId })
      .kind,
    'refetch',
    'on the last page, everything after belongs to the list',
  );
});

test('pageItems lists each row once even if a refetched page repeats one', () => {
  const repeated: Pages<Row> = {
    pages: [
      {
        items: [
          { id: 'a', state: 'running' },
          { id: 'b', state: 'running' },
        ],
        nextCursor: 'x',
      },
      {
        items: [
          { id: 'b', state: 'running' },
          { id: 'c', state: 'running' },
        ],
        nextCursor: null,
      },
    ],
    pageParams: [undefined, 'x'],
  };
  assert.deepEqual(
    pageItems(repeated).map((row) => row.id),
    ['a', 'b', 'c'],
  );
  assert.deepEqual(pageItems(undefined), []);
});
