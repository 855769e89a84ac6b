package dev.loupe.core.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClusterOptionsTest {

  @Test
  void roundTripsThroughJson() {
    ClusterOptions options = new ClusterOptions().setClusterName("lab-7").setHost("10.0.0.5").setHazelcastPort(5801)
        .setMembers("10.0.0.5:5801, 10.0.0.6:5801").setEventBusPort(17001).setSocketBufferBytes(1 << 20)
        .setTcpNoDelay(false).setJoinTimeoutSeconds(4);

    ClusterOptions copy = ClusterOptions.fromJson(new JsonObject(options.toJson().encode()));

    assertThat(copy).isEqualTo(options);
    assertThat(copy.getMembers()).containsExactly("10.0.0.5:5801", "10.0.0.6:5801");
  }

  @Test
  void hazelcastJoinsOnlyTheListedMembersOnTheGivenInterface() {
    ClusterOptions options = new ClusterOptions().setClusterName("t-1").setHazelcastPort(5702)
        .setMembers(List.of("127.0.0.1:5701", "127.0.0.1:5702"));

    Config config = ClusterNodes.hazelcastConfig(options);

    JoinConfig join = config.getNetworkConfig().getJoin();
    assertThat(join.getMulticastConfig().isEnabled()).isFalse();
    assertThat(join.getAutoDetectionConfig().isEnabled()).isFalse();
    assertThat(join.getTcpIpConfig().isEnabled()).isTrue();
    assertThat(join.getTcpIpConfig().getMembers()).containsExactly("127.0.0.1:5701", "127.0.0.1:5702");
    assertThat(config.getClusterName()).isEqualTo("t-1");
    assertThat(config.getNetworkConfig().getPort()).isEqualTo(5702);
    assertThat(config.getNetworkConfig().isPortAutoIncrement()).isFalse();
    assertThat(config.getNetworkConfig().getInterfaces().isEnabled()).isTrue();
    assertThat(config.getNetworkConfig().getInterfaces().getInterfaces()).containsExactly("127.0.0.1");
    // Vert.x's own map settings survive.
    assertThat(config.getMultiMapConfig("__vertx.subs").getBackupCount()).isEqualTo(1);
  }

  @Test
  void eventBusBindsAndAnnouncesTheHost() {
    VertxOptions vertx = ClusterNodes.vertxOptions(new ClusterOptions().setHost("127.0.0.1").setSocketBufferBytes(65536));

    assertThat(vertx.getEventBusOptions().getHost()).isEqualTo("127.0.0.1");
    assertThat(vertx.getEventBusOptions().getClusterPublicHost()).isEqualTo("127.0.0.1");
    assertThat(vertx.getEventBusOptions().getSendBufferSize()).isEqualTo(65536);
    assertThat(vertx.getEventBusOptions().isTcpNoDelay()).isTrue();
  }

  @Test
  void badValuesAreRejectedNamingTheField() {
    assertThatThrownBy(() -> new ClusterOptions().setClusterName("has space"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("clusterName").hasMessageContaining("has space");
    assertThatThrownBy(() -> new ClusterOptions().setMembers("127.0.0.1:99999"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("members").hasMessageContaining("99999");
    assertThatThrownBy(() -> new ClusterOptions().setMembers(" , "))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("members");
    assertThatThrownBy(() -> new ClusterOptions().setHost("127.0.0.1:5701"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("host");
    assertThatThrownBy(() -> ClusterOptions.fromJson(new JsonObject().put("hazelcastPort", "x")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("wrong type");
  }
}
