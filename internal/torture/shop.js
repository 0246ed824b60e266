// shop.js runs json-server 0.17 (the module whose directory is argv[2])
// on the database file argv[3], at 127.0.0.1:argv[4], as its command
// line does, with one addition tandem torture needs: conditional
// updates. An update whose body holds if_updatedAt is refused with 409
// when the record's updatedAt is another by then (null names a record
// without one); the field itself is never stored. The check and the write
// must be one step, as an API with optimistic locking makes them: Node
// runs one callback at a time, but json-server's router pauses every
// request a millisecond before it writes (its _delay), time enough for
// another update to land between a check here and the router's write. So
// a conditional update is checked and written here, in one callback.
'use strict'
const jsonServer = require(process.argv[2])
const [file, port] = [process.argv[3], Number(process.argv[4])]
const server = jsonServer.create()
const router = jsonServer.router(file)
server.use(jsonServer.defaults({ logger: false }))
server.use(jsonServer.bodyParser)
server.use((req, res, next) => {
  const body = req.body
  if ((req.method === 'PATCH' || req.method === 'PUT') && body && typeof body === 'object' && 'if_updatedAt' in body) {
    const want = body.if_updatedAt
    delete body.if_updatedAt
    const [, collection, id] = req.path.split('/')
    const coll = router.db.get(collection)
    const rec = coll.value() ? coll.find((r) => String(r.id) === id).value() : undefined
    const has = rec && rec.updatedAt !== undefined && rec.updatedAt !== null ? String(rec.updatedAt) : null
    if (rec && has !== (want === null ? null : String(want))) {
      res.status(409).json({ error: 'conflict', updatedAt: rec.updatedAt })
      return
    }
    if (rec) {
      delete body.id
      const chain = req.method === 'PATCH' ? coll.updateById(id, body) : coll.replaceById(id, body)
      res.status(200).json(chain.write())
      return
    }
  }
  next()
})
server.use(router)
server.listen(port, '127.0.0.1')
