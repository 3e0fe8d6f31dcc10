package io.rafka.server.broker;

import java.util.List;

/** One result per requested topic (request order), and a description of each topic created. */
public record CreateTopicsResult(List<TopicResult> results, List<TopicDescription> created) {
}
