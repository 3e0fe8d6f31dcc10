package io.rafka.client.cli;

/** The usage text, printed by {@code rafka help} and after every usage error. */
final class Usage {

    static final String TEXT = """
            usage: rafka [--bootstrap HOST:PORT] COMMAND [ARGS]

            Talks to a Rafka cluster over gRPC. Any broker can be the bootstrap broker: --bootstrap, else
            $RAFKA_BOOTSTRAP, else 127.0.0.1:9092. Options may come before or after the command's
            arguments, as --name VALUE or --name=VALUE; '--' ends the options.

            Topics and cluster (results on stdout):
              topic create NAME [--partitions N] [--replication-factor R] [--config KEY=VALUE]...
                  Create a topic and print its placement. N and R default to the broker's num.partitions
                  and default.replication.factor.
              topic list
                  Print the topic names, one per line.
              topic describe [NAME]...
                  Print partitions, leaders, replicas and config overrides of the topics (all if none).
              topic alter NAME [--config KEY=VALUE]... [--delete-config KEY]...
                  Set config overrides, or drop them back to the broker default.
              topic delete NAME
              cluster describe
                  Print the controller and the brokers, and which are live.
              cluster replace-broker BROKER_ID [--with TARGET_ID]
                  Move every replica of a (dead) broker to other live brokers: TARGET_ID, or per partition
                  the live broker holding the fewest replicas. The data is copied in the background.

            Producing:
              produce TOPIC [--partition P] [--acks all|1|0] [--key-separator SEP]
                            [--retry-timeout-ms T]
                  Send each line of stdin (UTF-8) as one record. With --key-separator the text before the
                  first SEP is the key and the rest the value; a line without SEP has no key. Records
                  with a key go to partition murmur2(key) % partitions, as with Kafka's clients; records
                  without one fill a batch on one partition, then move on to the next. The topic is
                  auto-created if the broker allows it. Lines are sent when a batch is full (16 KiB) or
                  stdin pauses. --acks defaults to all (idempotent: a retry never duplicates a line; 1 is
                  the same in Rafka; 0 does not wait, so errors go unseen). Leader changes and other
                  retriable errors are retried for T ms (default 30000). Prints "produced N records to
                  TOPIC" on stderr at the end.

            Consuming:
              consume TOPIC [--partition P] [--from-beginning | --offset O] [--max-messages N]
                            [--timeout-ms T] [--print-key] [--print-offset] [--retry-timeout-ms T]
                  Print each record's value on its own line on stdout, prefixed with
                  "PARTITION:OFFSET<TAB>" by --print-offset and "KEY<TAB>" by --print-key (a missing key
                  or value prints as null). Reads every partition, or only P. Starts at the end (new
                  records only), at the beginning with --from-beginning, or at offset O of partition P.
                  Stops after N records, or once no record arrived for T ms; with neither it runs until
                  interrupted. Retriable errors are retried for --retry-timeout-ms (default 30000).

              consume TOPIC --group G [--pattern REGEX] [--instance-id ID] [--from-beginning |
                            --offset-reset earliest|latest|none] [--session-timeout-ms T] [--assignor uniform|range]
                            [--max-messages N] [--timeout-ms T] [--print-key] [--print-offset] [--retry-timeout-ms T]
                  Consume as a member of consumer group G: the group's members share the partitions of
                  TOPIC (or of every topic matching REGEX; TOPIC may then be left out), and the group
                  remembers how far it got. A partition starts at the group's committed offset; without
                  one at the end (latest, the default), at the beginning with --from-beginning or
                  --offset-reset earliest, or it fails with --offset-reset none. Commits after printing
                  each batch (at least once); on Ctrl-C or SIGTERM commits and leaves the group, so its
                  partitions move to the other members at once. --instance-id makes the member static: a
                  restart within the session timeout gets the same partitions back. --assignor: uniform
                  (default: balanced, sticky) or range (consecutive partitions per topic, for joins).

            Consumer groups (sent to the group's coordinator; results on stdout):
              group list [--output text|json]
                  Every group of the cluster (asks each broker), with its state and member count.
              group describe G [--output text|json]
                  The group's state and, per partition, the committed offset, log-end offset, lag and
                  owner (member, host, client id); then its members with their epoch, instance id and
                  partitions ("idle" for a member without any).
              group delete G
                  Delete a group without members and its committed offsets.
              group reset-offsets G --topic TOPIC[:P,P...]... (--to-earliest | --to-latest |
                                    --to-datetime 2026-11-30T12:00:00Z | --to-offset N | --shift-by N)
                                    [--execute]
                  Print the new committed offsets (clamped to the log's start and end) of the partitions
                  named (all of TOPIC without :P); with --execute, set them. The group must have no
                  members (NON_EMPTY_GROUP otherwise). --shift-by moves from the committed offset (may be
                  negative); --to-datetime takes the first offset at or after the time (the end if none).
              All of them retry a moving coordinator for --retry-timeout-ms (default 30000).

              help, --help, -h
                  Print this text.

            Exit status: 0 success, 1 failure (printed as "rafka: ERROR_CODE: message" on stderr),
            2 bad usage.
            """;

    private Usage() {
    }
}
