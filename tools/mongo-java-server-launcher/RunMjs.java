// Fallback Mongo-wire server for tests: mongo-java-server 1.47.0 (in-memory backend) on a loopback port,
// used by test/support/mongo-wire.sh only when the FerretDB launcher cannot be built.
//
//   java -cp "$CLASSES:$CLASSPATH" RunMjs <port, 0 = any free one>
//
// It reports wire version 9 / "4.4.0" instead of 1.47.0's default 8 / "5.0.0", so Node drivers >= 7.6 (minimum
// wire 9) connect too, and turns the oplog on so change streams work. Prints `READY mongodb://127.0.0.1:PORT/`
// and serves until SIGTERM/SIGINT, or until the process whose pid is in $WATCH_PID is gone.
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.net.InetSocketAddress;
import java.util.List;

public class RunMjs {
    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        MemoryBackend backend = new MemoryBackend();
        backend.version(new MongoVersion() {
            @Override public List<Integer> getVersionArray() { return List.of(4, 4, 0); }
            @Override public int getWireVersion() { return 9; }
        });
        MongoServer server = new MongoServer(backend);
        server.enableOplog();
        server.bind("127.0.0.1", port);
        InetSocketAddress addr = server.getLocalAddress();
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
        System.out.println("READY mongodb://127.0.0.1:" + addr.getPort() + "/");
        System.out.flush();
        String watch = System.getenv("WATCH_PID");
        if (watch != null && !watch.isEmpty()) {
            long pid = Long.parseLong(watch);
            while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) Thread.sleep(1000);
            System.exit(0);
        }
        Thread.currentThread().join();
    }
}
