/** `npm run migrate`: brings DATABASE_URL's schema up to date and exits (the services also do it at start). */
import { openDatabase } from './data-source';

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is required');
  const ds = await openDatabase(url);
  const applied = await ds.query('SELECT name FROM migrations ORDER BY id');
  console.log(`schema up to date: ${applied.map((m: { name: string }) => m.name).join(', ')}`);
  await ds.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
