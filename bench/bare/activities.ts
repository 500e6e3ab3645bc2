/** The bare reference's activities: plain fetch against the same stub, JSONata in process. */
import jsonata from 'jsonata';

export async function fetchItems(url: string): Promise<unknown> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}`);
  return res.json();
}

const counting = jsonata('$count(items)');

export async function countItems(items: unknown): Promise<number> {
  return (await counting.evaluate({ items })) as number;
}

export async function postCount(url: string, count: number): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count }) });
  await res.text();
  if (!res.ok) throw new Error(`POST ${url} answered ${res.status}`);
}
