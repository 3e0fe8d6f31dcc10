package io.rafka.client.internals;

import io.rafka.proto.v1.GroupListing;
import io.rafka.proto.v1.GroupServiceGrpc;
import io.rafka.proto.v1.ListGroupsRequest;
import io.rafka.proto.v1.ListGroupsResponse;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Every group one broker coordinates, asked a page at a time (ListGroups is paged: group.list.max.groups). */
public final class GroupListings {

    private GroupListings() {
    }

    /**
     * The broker's groups, sorted by id: ListGroups again from the last id of each page while the answer says more
     * follow; each page within {@code pageDeadlineMs}.
     *
     * @throws io.grpc.StatusRuntimeException a page's call failed
     */
    public static List<GroupListing> of(GroupServiceGrpc.GroupServiceBlockingStub broker, long pageDeadlineMs) {
        List<GroupListing> all = new ArrayList<>();
        String after = "";
        while (true) {
            ListGroupsResponse page = broker.withDeadlineAfter(pageDeadlineMs, TimeUnit.MILLISECONDS)
                    .listGroups(ListGroupsRequest.newBuilder().setAfterGroupId(after).build());
            all.addAll(page.getGroupsList());
            if (!page.getMore() || page.getGroupsCount() == 0) {
                return all;
            }
            String last = page.getGroups(page.getGroupsCount() - 1).getGroupId();
            if (last.compareTo(after) <= 0 && !after.isEmpty()) {
                return all;   // a broker that does not move on: what it gave is all there is to get
            }
            after = last;
        }
    }
}
