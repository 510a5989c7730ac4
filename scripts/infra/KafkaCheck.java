// Small admin/smoke helper for scripts/infra.sh, compiled once into the cache against the cached
// Kafka jars (kafka-clients). It exists because kafka-tools (TopicCommand, AclCommand & co.) is not
// published on Maven Central for every Kafka release, while kafka-clients always is.
//
// Every client it makes first reads the properties file named by the system property
// open-bank.client.config (infra.sh passes <data>/security/admin.properties: SASL_SSL, SCRAM-SHA-512 as
// User:admin, the cluster's CA as trust store), so it talks to the secured cluster like any other client.
//
//   probe  <bootstrap> [timeoutMs] [brokers] [ensure...]
//                                    real metadata round trip: describeCluster + listTopics; exit 0 once the
//                                    cluster answers with at least <brokers> (default 1) registered brokers.
//                                    Then, only when the cluster is ready, applies the ensure items (below).
//                                    Exit 1: not ready (yet); 4: authentication refused (TLS or SASL); 5: an
//                                    ensure item failed.
//   topics <bootstrap> [timeoutMs]   list all topics, internal ones included, one per line
//   smoke  <bootstrap>               transactional round trip: create topic, commit one record, abort one,
//                                    read it back with isolation.level=read_committed, delete the topic
//   acls   <bootstrap> [timeoutMs]   list every ACL binding, one per line
//   users  <bootstrap> [timeoutMs]   list the SCRAM users and their mechanisms, one per line
//
// Ensure items (idempotent, applied in order):
//   scram=<user>=<password file>     give <user> a SCRAM-SHA-512 credential with that password unless it has one
//   scram!=<user>=<password file>    set <user>'s SCRAM-SHA-512 credential to that password in any case
//   acl=<principal>|<resource type>|<pattern type>|<name>|<op>[,<op>...]
//                                    ALLOW the operations from any host, e.g.
//                                    acl=User:schema-registry|topic|prefixed|_apicurio-|Create,Describe,Read,Write
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.admin.UserScramCredentialsDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public final class KafkaCheck {
    private static final int SCRAM_ITERATIONS = 4096;

    private KafkaCheck() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: KafkaCheck probe|topics|smoke|acls|users <bootstrap> [timeoutMs] [brokers] [ensure...]");
            System.exit(2);
        }
        String cmd = args[0];
        String bootstrap = args[1];
        int timeoutMs = args.length > 2 ? Integer.parseInt(args[2]) : 5000;
        int rc;
        switch (cmd) {
            case "probe":
                rc = probe(bootstrap, timeoutMs, args.length > 3 ? Integer.parseInt(args[3]) : 1,
                        args.length > 4 ? List.of(args).subList(4, args.length) : List.of());
                break;
            case "topics": rc = topics(bootstrap, timeoutMs); break;
            case "smoke": rc = smoke(bootstrap); break;
            case "acls": rc = acls(bootstrap, timeoutMs); break;
            case "users": rc = users(bootstrap, timeoutMs); break;
            default:
                System.err.println("unknown command: " + cmd);
                rc = 2;
        }
        System.exit(rc);
    }

    /** The security settings every client shares (SASL_SSL, credentials, trust store), from the file infra.sh names. */
    private static Properties base(String bootstrap) {
        Properties p = new Properties();
        String file = System.getProperty("open-bank.client.config");
        if (file != null && !file.isEmpty()) {
            try (InputStream in = Files.newInputStream(Path.of(file))) {
                p.load(in);
            } catch (IOException e) {
                System.err.println("cannot read the client configuration " + file + ": " + e);
                System.exit(2);
            }
        }
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return p;
    }

    private static Admin admin(String bootstrap, int timeoutMs) {
        Properties p = base(bootstrap);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, timeoutMs);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeoutMs);
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 500);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "open-bank-infra-check");
        return Admin.create(p);
    }

    private static int probe(String bootstrap, int timeoutMs, int brokers, List<String> ensure) {
        try (Admin a = admin(bootstrap, timeoutMs)) {
            DescribeClusterResult c = a.describeCluster();
            String clusterId = c.clusterId().get(timeoutMs, TimeUnit.MILLISECONDS);
            int nodes = c.nodes().get(timeoutMs, TimeUnit.MILLISECONDS).size();
            Set<String> names = a.listTopics(new ListTopicsOptions().listInternal(true))
                    .names().get(timeoutMs, TimeUnit.MILLISECONDS);
            if (nodes < brokers) {
                System.out.println("cluster " + clusterId + ", " + nodes + " broker(s), " + names.size() + " topic(s)");
                System.err.println("kafka not ready: " + nodes + " of " + brokers + " brokers registered");
                return 1;
            }
            String done;
            try {
                done = ensure(a, ensure, Math.max(timeoutMs, 10000));
            } catch (Exception e) {
                System.err.println("kafka: could not set up credentials/ACLs: " + rootMessage(e));
                return 5;
            }
            System.out.println("cluster " + clusterId + ", " + nodes + " broker(s), " + names.size() + " topic(s)" + done);
            return 0;
        } catch (Exception e) {
            Throwable auth = find(e, AuthenticationException.class);
            if (auth != null) {
                System.err.println("kafka refused the client: " + auth.getClass().getSimpleName() + ": " + auth.getMessage());
                return 4;
            }
            System.err.println("kafka not ready: " + rootMessage(e));
            return 1;
        }
    }

    /** Applies the ensure items; returns a short summary of what changed ("" when nothing did). */
    private static String ensure(Admin a, List<String> items, int timeoutMs) throws Exception {
        if (items.isEmpty()) return "";
        List<UserScramCredentialAlteration> upserts = new ArrayList<>();
        List<AclBinding> acls = new ArrayList<>();
        Set<String> haveScram = null;
        for (String item : items) {
            if (item.startsWith("scram=") || item.startsWith("scram!=")) {
                boolean force = item.startsWith("scram!=");
                String[] kv = item.substring(force ? 7 : 6).split("=", 2);
                if (kv.length != 2) throw new IllegalArgumentException("bad item " + item);
                if (!force) {
                    if (haveScram == null) haveScram = scramUsers(a, timeoutMs);
                    if (haveScram.contains(kv[0])) continue;
                }
                String password = Files.readString(Path.of(kv[1]), StandardCharsets.UTF_8).strip();
                upserts.add(new UserScramCredentialUpsertion(kv[0],
                        new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS), password));
            } else if (item.startsWith("acl=")) {
                String[] f = item.substring(4).split("\\|", -1);
                if (f.length != 5) throw new IllegalArgumentException("bad item " + item);
                ResourcePattern pattern = new ResourcePattern(enumOf(ResourceType.class, f[1]), f[3],
                        enumOf(PatternType.class, f[2]));
                for (String op : f[4].split(",")) {
                    acls.add(new AclBinding(pattern, new AccessControlEntry(f[0], "*",
                            enumOf(AclOperation.class, op), AclPermissionType.ALLOW)));
                }
            } else {
                throw new IllegalArgumentException("unknown ensure item " + item);
            }
        }
        StringBuilder done = new StringBuilder();
        if (!upserts.isEmpty()) {
            a.alterUserScramCredentials(upserts).all().get(timeoutMs, TimeUnit.MILLISECONDS);
            done.append(", SCRAM credentials set for ").append(upserts.size()).append(" user(s)");
        }
        if (!acls.isEmpty()) {
            // Only what is missing, so that the summary tells whether anything changed (createAcls is idempotent).
            Set<AclBinding> existing = new HashSet<>(
                    a.describeAcls(AclBindingFilter.ANY).values().get(timeoutMs, TimeUnit.MILLISECONDS));
            List<AclBinding> missing = new ArrayList<>();
            for (AclBinding b : acls) if (!existing.contains(b)) missing.add(b);
            if (!missing.isEmpty()) {
                a.createAcls(missing).all().get(timeoutMs, TimeUnit.MILLISECONDS);
                done.append(", ").append(missing.size()).append(" ACL(s) created");
            }
        }
        return done.toString();
    }

    private static Set<String> scramUsers(Admin a, int timeoutMs) throws Exception {
        Set<String> users = new HashSet<>();
        Map<String, UserScramCredentialsDescription> all =
                a.describeUserScramCredentials().all().get(timeoutMs, TimeUnit.MILLISECONDS);
        for (UserScramCredentialsDescription d : all.values()) {
            for (ScramCredentialInfo i : d.credentialInfos()) {
                if (i.mechanism() == ScramMechanism.SCRAM_SHA_512) users.add(d.name());
            }
        }
        return users;
    }

    private static <E extends Enum<E>> E enumOf(Class<E> type, String name) {
        String wanted = name.replace("-", "").replace("_", "").toLowerCase(Locale.ROOT);
        for (E e : type.getEnumConstants()) {
            if (e.name().replace("_", "").toLowerCase(Locale.ROOT).equals(wanted)) return e;
        }
        throw new IllegalArgumentException("no " + type.getSimpleName() + " named " + name);
    }

    private static int topics(String bootstrap, int timeoutMs) throws Exception {
        try (Admin a = admin(bootstrap, timeoutMs)) {
            Set<String> names = new TreeSet<>(a.listTopics(new ListTopicsOptions().listInternal(true))
                    .names().get(timeoutMs, TimeUnit.MILLISECONDS));
            names.forEach(System.out::println);
            return 0;
        }
    }

    private static int acls(String bootstrap, int timeoutMs) throws Exception {
        try (Admin a = admin(bootstrap, timeoutMs)) {
            Set<String> lines = new TreeSet<>();
            for (AclBinding b : a.describeAcls(AclBindingFilter.ANY).values().get(timeoutMs, TimeUnit.MILLISECONDS)) {
                lines.add(b.entry().principal() + " " + b.entry().permissionType() + " " + b.entry().operation()
                        + " on " + b.pattern().resourceType() + " " + b.pattern().patternType() + " '"
                        + b.pattern().name() + "' from " + b.entry().host());
            }
            lines.forEach(System.out::println);
            return 0;
        }
    }

    private static int users(String bootstrap, int timeoutMs) throws Exception {
        try (Admin a = admin(bootstrap, timeoutMs)) {
            Map<String, UserScramCredentialsDescription> all =
                    a.describeUserScramCredentials().all().get(timeoutMs, TimeUnit.MILLISECONDS);
            for (String name : new TreeSet<>(all.keySet())) {
                List<String> infos = new ArrayList<>();
                for (ScramCredentialInfo i : all.get(name).credentialInfos()) {
                    infos.add(i.mechanism() + "/" + i.iterations());
                }
                System.out.println(name + " " + String.join(",", infos));
            }
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
            Properties pp = base(bootstrap);
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
            Properties cp = base(bootstrap);
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

    private static Throwable find(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) return t;
        }
        return null;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) t = t.getCause();
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }
}
