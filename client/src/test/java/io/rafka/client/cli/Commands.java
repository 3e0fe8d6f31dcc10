package io.rafka.client.cli;

import picocli.CommandLine;

import java.util.List;

/** Parses a command line with the tool's real picocli command tree, as {@link RafkaCli#run} does, without running it. */
final class Commands {

    private Commands() {
    }

    static CommandLine.ParseResult parseResult(String... args) {
        return RafkaCli.commandLine(new RafkaCli()).parseArgs(args);
    }

    /** The command object picocli filled in: the last one named on the line. */
    @SuppressWarnings("unchecked")
    static <T> T parse(String... args) {
        List<CommandLine> chain = parseResult(args).asCommandLineList();
        return (T) chain.get(chain.size() - 1).getCommand();
    }
}
