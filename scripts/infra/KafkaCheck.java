// Small admin/smoke helper for scripts/infra.sh, compiled once into the cache against the cached
// Kafka jars (kafka-clients). It exists because kafka-tools (TopicCommand & co.) is not published
// on Maven Central for every Kafka release, while kafka-clients always is.
//
//   probe  <bootstrap> [timeoutMs] [brokers]
//                                    real metadata round trip: describeCluster + listTopics; exit 0 once the
//                                    cluster answers with at least <brokers> (default 1) registered brokers
//   topics <bootstrap>               list all topics, internal ones included, one per line
//   smoke  <bootstrap>               transactional round trip: create topic, commit one record, abort one,
//                                    read it back with isolation.level=read_committed, delete the topic
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public final class KafkaCheck {
    private KafkaCheck() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: KafkaCheck probe|topics|smoke <bootstrap> [timeoutMs] [brokers]");
            System.exit(2);
        }
        String cmd = args[0];
        String bootstrap = args[1];
        int timeoutMs = args.length > 2 ? Integer.parseInt(args[2]) : 5000;
        int rc;
        switch (cmd) {
            case "probe": rc = probe(bootstrap, timeoutMs, args.length > 3 ? Integer.parseInt(args[3]) : 1); break;
            case "topics": rc = topics(bootstrap, timeoutMs); break;
            case "smoke": rc = smoke(bootstrap); break;
            default:
                System.err.println("unknown command: " + cmd);
                rc = 2;
        }
        System.exit(rc);
    }

    private static Admin admin(String bootstrap, int timeoutMs) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, timeoutMs);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeoutMs);
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 500);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "open-bank-infra-check");
        return Admin.create(p);
    }

    private static int probe(String bootstrap, int timeoutMs, int brokers) {
        try (Admin a = admin(bootstrap, timeoutMs)) {
            DescribeClusterResult c = a.describeCluster();
            String clusterId = c.clusterId().get(timeoutMs, TimeUnit.MILLISECONDS);
            int nodes = c.nodes().get(timeoutMs, TimeUnit.MILLISECONDS).size();
            Set<String> names = a.listTopics(new ListTopicsOptions().listInternal(true))
                    .names().get(timeoutMs, TimeUnit.MILLISECONDS);
            System.out.println("cluster " + clusterId + ", " + nodes + " broker(s), " + names.size() + " topic(s)");
            if (nodes < brokers) {
                System.err.println("kafka not ready: " + nodes + " of " + brokers + " brokers registered");
                return 1;
            }
            return 0;
        } catch (Exception e) {
            System.err.println("kafka not ready: " + rootMessage(e));
            return 1;
        }
    }

    private static int topics(String bootstrap, int timeoutMs) throws Exception {
        try (Admin a = admin(bootstrap, timeoutMs)) {
            Set<String> names = new TreeSet<>(a.listTopics(new ListTopicsOptions().listInternal(true))
                    .names().get(timeoutMs, TimeUnit.MILLISECONDS));
            names.forEach(System.out::println);
            return 0;
        }
    }

    private static int smoke(String bootstrap) throws Exception {
        String topic = "_open-bank-infra-smoke-" + UUID.randomUUID().toString().substring(0, 8);
        String committed = "committed-" + System.nanoTime();
        String aborted = "aborted-" + System.nanoTime();
        try (Admin a = admin(bootstrap, 15000)) {
            try {
                a.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(15, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) throw e;
            }
            Properties pp = new Properties();
            pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            pp.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "open-bank-infra-smoke-" + UUID.randomUUID());
            pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
            pp.put(ProducerConfig.ACKS_CONFIG, "all");
            pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            try (KafkaProducer<String, String> p = new KafkaProducer<>(pp)) {
                p.initTransactions();
                p.beginTransaction();
                p.send(new ProducerRecord<>(topic, "k", aborted));
                p.flush();
                p.abortTransaction();
                p.beginTransaction();
                p.send(new ProducerRecord<>(topic, "k", committed));
                p.commitTransaction();
            }
            Properties cp = new Properties();
            cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            cp.put(ConsumerConfig.GROUP_ID_CONFIG, "open-bank-infra-smoke-" + UUID.randomUUID());
            cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            List<String> seen = new ArrayList<>();
            String groupId = (String) cp.get(ConsumerConfig.GROUP_ID_CONFIG);
            try (KafkaConsumer<String, String> c = new KafkaConsumer<>(cp)) {
                c.subscribe(Collections.singletonList(topic));
                long deadline = System.currentTimeMillis() + 30000;
                while (!seen.contains(committed) && System.currentTimeMillis() < deadline) {
                    for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                        seen.add(r.value());
                    }
                }
            }
            a.deleteTopics(List.of(topic)).all().get(15, TimeUnit.SECONDS);
            try {
                a.deleteConsumerGroups(List.of(groupId)).all().get(15, TimeUnit.SECONDS);
            } catch (ExecutionException ignored) {
                // best effort
            }
            boolean ok = seen.contains(committed) && !seen.contains(aborted);
            System.out.println((ok ? "ok" : "FAILED") + ": transactional round trip on " + topic
                    + " (read_committed saw " + seen + ", aborted record "
                    + (seen.contains(aborted) ? "VISIBLE" : "hidden") + ")");
            return ok ? 0 : 1;
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) t = t.getCause();
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }
}
