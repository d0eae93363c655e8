/** The self-contained HTML run report: rendering, training curves from metrics.jsonl, face thumbnails. */
export {
  renderReport,
  writeReport,
  escapeHtml,
  sniffImageMime,
  sortFaces,
  type ReportData,
  type ReportFace,
  type ReportCurve,
  type ReportImageMime,
} from './html.js';
export { curvesFromMetrics, parseMetricsJsonl, readMetricsCurves, type MetricsCurveOptions } from './metrics.js';
export { loadReportFaces, type LoadFacesOptions, type ScoredImage } from './faces.js';
export { assertSafeSvg } from './svg-check.js';
export { buildResultsReport, readRestorations, type ResultsReportOptions } from './build.js';
