#!/usr/bin/python3
"""client.py -- the normal traffic of examples/buggy-grpc: three orders
placed with shop.Orders/Place, each answered OK (prints the receipts).
Recorded through `decoy record --dir in`, it is the fuzz corpus.

usage: client.py --pb-dir DIR PORT
"""
import sys

import grpc


def main(argv):
    if len(argv) != 4 or argv[1] != '--pb-dir':
        sys.stderr.write(__doc__)
        return 2
    sys.path.insert(0, argv[2])
    import orders_pb2 as pb
    ch = grpc.insecure_channel('127.0.0.1:' + argv[3])
    grpc.channel_ready_future(ch).result(timeout=10)
    place = ch.unary_unary('/shop.Orders/Place',
                           request_serializer=pb.Order.SerializeToString,
                           response_deserializer=pb.Receipt.FromString)
    orders = [
        pb.Order(quantity=2, customer=pb.Customer(name='ann',
                 email='ann@example.com'), items=[7, 8, 9],
                 note=b'gift wrap', amount=1999, sku='a-1'),
        pb.Order(quantity=1, customer=pb.Customer(name='bob',
                 email='bob@example.com'), items=[3], amount=500,
                 sku='b-2'),
        pb.Order(quantity=5, customer=pb.Customer(name='cy'),
                 items=[1, 2], note=b'leave at door', amount=250,
                 sku='c-3'),
    ]
    for o in orders:
        r = place(o, timeout=10)
        print('OK', r.id, r.total)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
