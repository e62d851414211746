#!/usr/bin/env bash
# TODO(testkit): user_cache across a real partition. Not run by CI (the
# name does not match test_*.sh) until the testkit (testkit/, TESTKIT.md)
# can start C nodes in network namespaces and cut links between them.
# Scenario to implement:
#   1. start user_cache on 3 nodes (kit), connect them, put 1 alice on n1,
#      check every node has it (dump);
#   2. partition {n1} | {n2, n3}; put 2 bob on n1, put 2 robert and
#      3 carol on n2; check each side sees only its own writes;
#   3. heal; within 10 s every node's dump is identical and holds
#      1=alice, 2=robert or 2=bob (the newer version wins, ties by node
#      name), 3=carol.
# tests/interop/test_pg_examples.sh already covers the merge on nodeup of
# writes made apart (nodes that had not met yet); only the cut is missing.
echo "SKIP: waiting for the testkit's partition support"
echo "0 passed, 0 failed"
exit 0
