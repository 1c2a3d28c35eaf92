// Validate Prometheus Operator resources against the schemas @kubernetes-models ships.
import fs from "node:fs";
import { loadAll } from "js-yaml";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
let failed = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of loadAll(fs.readFileSync(file, "utf8"))) {
    try {
      new ServiceMonitor(doc).validate();
      console.log(`ok ${file} ${doc.kind}/${doc.metadata.name}`);
    } catch (e) {
      failed += 1;
      console.log(`FAILED ${file}: ${e.message}`);
    }
  }
}
process.exit(failed ? 1 : 0);
