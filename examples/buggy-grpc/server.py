#!/usr/bin/python3
"""server.py -- a gRPC service with planted bugs for `decoy fuzz` (grpcio,
with the generic handlers of grpc and the protobuf code protoc generates
from orders.proto: no grpc_tools needed).  Its normal traffic is what
client.py sends; mutating the protobuf messages structurally triggers the
bugs of shop.Orders/Place:

  BUG UNKNOWN "negative count": a negative quantity reaches
      bytearray(quantity) (the check only refuses 0)
  BUG UNKNOWN "'NoneType' object has no attribute 'name'": a missing
      customer message is not handled
  BUG UNKNOWN "list assignment index out of range": more than 16 items
      overflow the picking slots
  BUG INTERNAL "ledger: cannot store note": a note that is not UTF-8 is
      reported as an internal error instead of a bad argument
  BUG UNKNOWN "argument out of range": an amount of 2^63 or more passes
      the uint64 field but not the ledger's int64

Bytes that do not parse as an Order, a quantity of 0 or over 1000 get
INVALID_ARGUMENT, as they should: decoy fuzz must not report those.
--fixed turns every bug into INVALID_ARGUMENT.

usage: server.py --pb-dir DIR (--port N | --port-file FILE) [--fixed]
  DIR holds orders_pb2.py (protoc --python_out=DIR orders.proto).
"""
import os
import struct
import sys
from concurrent import futures

import grpc

FIXED = False
pb = None


def bad(ctx, why):
    ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, why)


def place(raw, ctx):
    try:
        order = pb.Order.FromString(raw)
    except Exception:
        bad(ctx, 'malformed Order')
    if order.quantity == 0:
        bad(ctx, 'quantity must be positive')
    if order.quantity > 1000:
        bad(ctx, 'quantity too large')
    if FIXED and (order.quantity < 0 or not order.HasField('customer') or
                  len(order.items) > 16 or order.amount >= 1 << 63):
        bad(ctx, 'invalid order')
    reserved = bytearray(order.quantity)            # BUG: negative count
    cust = order.customer if order.HasField('customer') else None
    label = cust.name.title()                       # BUG: no customer
    slots = [0] * 16
    for i, item in enumerate(order.items):
        slots[i] = item                             # BUG: > 16 items
    try:
        note = order.note.decode('utf-8')
    except UnicodeDecodeError:
        if FIXED:
            bad(ctx, 'note is not text')
        # BUG: the client's bad input reported as the service's fault
        ctx.abort(grpc.StatusCode.INTERNAL, 'ledger: cannot store note')
    ledger = struct.pack('<q', order.amount)        # BUG: amount >= 2^63
    total = min(order.amount * len(reserved), (1 << 64) - 1)
    rid = '%s-%d-%d' % (label[:8], len(note), len(ledger))
    return pb.Receipt(id=rid, total=total).SerializeToString()


def main(argv):
    global FIXED, pb
    port, port_file, pb_dir = 0, None, None
    i = 1
    while i < len(argv):
        if argv[i] == '--fixed':
            FIXED = True
        elif argv[i] == '--port':
            i += 1
            port = int(argv[i])
        elif argv[i] == '--port-file':
            i += 1
            port_file = argv[i]
        elif argv[i] == '--pb-dir':
            i += 1
            pb_dir = argv[i]
        else:
            sys.stderr.write(__doc__)
            return 2
        i += 1
    if pb_dir is None:
        sys.stderr.write(__doc__)
        return 2
    sys.path.insert(0, pb_dir)
    import orders_pb2
    pb = orders_pb2
    h = grpc.method_handlers_generic_handler('shop.Orders', {
        'Place': grpc.unary_unary_rpc_method_handler(place),
    })
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    srv.add_generic_rpc_handlers((h,))
    port = srv.add_insecure_port('127.0.0.1:%d' % port)
    srv.start()
    if port_file:
        with open(port_file + '.tmp', 'w') as f:
            f.write('%d\n' % port)
        os.rename(port_file + '.tmp', port_file)
    srv.wait_for_termination()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
