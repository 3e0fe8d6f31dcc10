package io.rafka.client.cli;

import io.rafka.client.internals.BrokerAddress;
import io.rafka.client.internals.ChannelPool;

import io.rafka.common.Time;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.Random;

/**
 * Everything a command touches outside its arguments: the bootstrap broker, the channels, the clock,
 * randomness and the standard streams. Passed in explicitly so that tests run commands against
 * in-process brokers with a fake clock and captured output.
 *
 * @param out data (consumed records) and results (topic lists and descriptions) only
 * @param err progress, summaries, warnings and errors
 * @param stop raised by Ctrl-C/SIGTERM; long-running commands end cleanly on it
 */
record CliContext(BrokerAddress bootstrap, ChannelPool channels, Time time, Random random,
                  InputStream in, PrintStream out, PrintStream err, StopSignal stop) {
}
