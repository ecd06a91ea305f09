// Prints KEY<TAB>PARTITION lines: where the Java client (kafka-clients' BuiltInPartitioner,
// the default for keyed records) puts each key in a topic of N partitions.
// Run: java -cp kafka-clients-4.x.jar PartitionVectors.java N > partitions-N.tsv
// (scripts/apache-kafka/fetch prints the directory whose lib/ holds the jar).
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;

public class PartitionVectors {
    public static void main(String[] args) {
        int partitions = Integer.parseInt(args[0]);
        List<String> keys = new ArrayList<>(List.of("a", "21", "abc", "foobar", "user-1",
                "Zürich", "ключ", "キー", "emoji-\uD83D\uDE80", "a-much-longer-key-of-forty-bytes-or-more-0123456789"));
        for (int i = 0; i < 200; i++) {
            keys.add("key-" + i);
        }
        System.out.println("# key\tpartition of " + partitions + ", by kafka-clients "
                + org.apache.kafka.common.utils.AppInfoParser.getVersion());
        for (String key : keys) {
            byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
            System.out.println(key + "\t" + BuiltInPartitioner.partitionForKey(bytes, partitions));
        }
    }
}
