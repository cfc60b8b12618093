package org.paperledger.opensearch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.config.builder.api.ConfigurationBuilder;
import org.apache.logging.log4j.core.config.builder.api.ConfigurationBuilderFactory;
import org.apache.logging.log4j.core.config.builder.impl.BuiltConfiguration;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.join.ParentJoinPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * One OpenSearch node in this JVM, its modules loaded from the classpath.
 *
 * <p>Usage: {@code EmbeddedNode <data dir> <http port> [--exit-with-stdin]}. It
 * serves HTTP on loopback, forms a single-node cluster, prints one line once it
 * is started and closes cleanly on SIGTERM or SIGINT. With {@code
 * --exit-with-stdin} it also closes when its standard input ends, so a node
 * never outlives the process that started it.
 */
public final class EmbeddedNode extends Node {

    private static final String NODE_NAME = "paperledger";

    private static final List<Class<? extends Plugin>> MODULES = List.of(
        Netty4Plugin.class,
        CommonAnalysisPlugin.class,
        MapperExtrasPlugin.class,
        PainlessPlugin.class,
        ParentJoinPlugin.class,
        ReindexPlugin.class
    );

    private EmbeddedNode(Settings settings) {
        super(
            InternalSettingsPreparer.prepareEnvironment(
                settings, Collections.emptyMap(), null, () -> NODE_NAME
            ),
            MODULES,
            true
        );
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2 || args.length > 3) {
            System.err.println("usage: EmbeddedNode <data dir> <http port> [--exit-with-stdin]");
            System.exit(2);
        }
        Path home = Paths.get(args[0]).toAbsolutePath();
        Files.createDirectories(home.resolve("data"));
        Files.createDirectories(home.resolve("logs"));
        logTo(home.resolve("logs").resolve("opensearch.log"));

        EmbeddedNode node = new EmbeddedNode(settings(home, args[1]));
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                closed.countDown();
            }
        }, "paperledger-shutdown"));
        try {
            node.start();
        } catch (Exception e) {
            e.printStackTrace();
            System.exit(1);
        }
        System.out.println("started on http://127.0.0.1:" + args[1]);
        System.out.flush();
        if (args.length == 3 && args[2].equals("--exit-with-stdin")) {
            exitWhenStdinEnds();
        }
        closed.await();
    }

    private static void exitWhenStdinEnds() {
        Thread watcher = new Thread(() -> {
            try {
                while (System.in.read() != -1) {
                    // Input carries no commands; only its end matters.
                }
            } catch (IOException e) {
                // A broken pipe means the parent is gone, like an end of input.
            }
            System.exit(0);
        }, "paperledger-stdin");
        watcher.setDaemon(true);
        watcher.start();
    }

    private static Settings settings(Path home, String httpPort) {
        return Settings.builder()
            .put("cluster.name", "paperledger")
            .put("node.name", NODE_NAME)
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.port", "0")
            .put("http.type", "netty4")
            .put("transport.type", "netty4")
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();
    }

    /** Sends OpenSearch's own warnings and errors to one file, nothing to the console. */
    private static void logTo(Path file) {
        ConfigurationBuilder<BuiltConfiguration> config =
            ConfigurationBuilderFactory.newConfigurationBuilder();
        config.add(
            config.newAppender("file", "File")
                .addAttribute("fileName", file.toString())
                .add(config.newLayout("PatternLayout")
                    .addAttribute("pattern", "[%d{ISO8601}][%-5p][%c{1.}] %m%n"))
        );
        config.add(config.newRootLogger(Level.WARN).add(config.newAppenderRef("file")));
        Configurator.initialize(config.build());
    }
}
