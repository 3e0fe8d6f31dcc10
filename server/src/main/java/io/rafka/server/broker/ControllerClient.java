package io.rafka.server.broker;

import io.rafka.controller.ControllerLogic;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The controller's admin operations as another broker reaches them (the API layer implements it over its own
 * transport). Each call is marked as forwarded, so the receiver never forwards it again. Failures are typed:
 * NOT_CONTROLLER when no controller can be reached, REQUEST_TIMED_OUT when it did not answer in time (the
 * change may still be made), otherwise the error the controller answered.
 */
public interface ControllerClient {
    /**
     * Creates topics on the controller. {@code createId} names this create (the same on each retry of it): the
     * controller derives each topic's id from it ({@link TopicAdmin#topicId}), so a retry whose first attempt
     * committed answers success for that same topic.
     */
    CreateTopicsResult createTopics(List<NewTopic> topics, UUID createId);

    List<TopicResult> deleteTopics(List<String> names);

    TopicResult createPartitions(String topic, int totalCount);

    TopicResult alterConfigs(String topic, Map<String, String> set, Collection<String> delete);

    ClusterDescription describeCluster();

    List<ControllerLogic.Reassignment> replaceBroker(String brokerId, String targetBrokerId);

    /** New replica lists for partitions, or with {@code balance} the controller's own (see {@link TopicAdmin#reassign}). */
    List<ControllerLogic.Reassignment> reassign(List<ControllerLogic.Reassignment> wanted, boolean balance, boolean validateOnly);

    /** Reserves the next block of producer ids for {@code brokerId}; returns its first id. */
    long allocateProducerIds(String brokerId);
}
