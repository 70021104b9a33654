import mongoose from 'mongoose';
(async () => {
  const admin = await mongoose.createConnection('mongodb://127.0.0.1:38723/admin').asPromise();
  const dbs = (await admin.db!.admin().listDatabases()).databases.map((d) => d.name).filter((n) => n.startsWith('chaos_'));
  await admin.close();
  const c = await mongoose.createConnection('mongodb://127.0.0.1:38723/' + dbs[dbs.length - 1]).asPromise();
  for (const name of ['inbound_keys', 'delivery_records', 'platform_messages', 'conversation_state']) {
    const col = c.db!.collection(name);
    const n = await col.estimatedDocumentCount();
    const t = Date.now();
    await col.deleteMany({ expiresAt: { $lt: new Date(0) } });
    console.log(name, n, 'docs; sweep-shaped deleteMany', Date.now() - t, 'ms');
  }
  await c.close();
})();
